"""The `lscb` console command.

Subcommands live in `lscb.commands.<name>` modules; each exposes
`register(subparsers: argparse._SubParsersAction) -> None` and sets `func` on its parser
(`parser.set_defaults(func=handler)`). The handler takes the parsed namespace and returns the
process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lscb import commands
from lscb.errors import ConfigurationError

if TYPE_CHECKING:  # the settings (pydantic) and SQLAlchemy cost ~0.3 s to import: only when asked
    from sqlalchemy import Engine

    from lscb.settings import Settings


class UserError(Exception):
    """A problem the user can fix: printed as one line, never as a traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def settings() -> Settings:
    """The settings in force (a bad value is a one-line error, through `main`)."""
    from lscb.settings import load_settings

    return load_settings()


def project_engine() -> Engine:
    """The project database's engine, from the settings."""
    from store.engine import get_engine

    return get_engine(settings().database())


def add_population_option(parser: argparse.ArgumentParser) -> None:
    """`--population CSV`, for every command that computes rates per 10,000."""
    parser.add_argument(
        "--population", type=Path, metavar="CSV", help="council_code, year, population_0_17 (for rates per 10,000)"
    )


def population_file(path: Path | None) -> Path | None:
    """The `--population` file, resolved; a UserError when it is not there."""
    if path is None:
        return None
    if not path.is_file():
        raise UserError(f"population file {path} not found")
    return path.expanduser().resolve()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lscb",
        description="LSCB quarterly return: templates, validation, storage and national outputs.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as error:
        print(f"lscb {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except ConfigurationError as error:
        print(f"lscb {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `lscb councils | head`: the reader went away; that is not an error worth a traceback.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
