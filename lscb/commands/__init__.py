"""CLI subcommands. Each module here defines `register(subparsers)`; `lscb.cli` finds them all,
so a new command is a new module and no shared file needs editing."""
