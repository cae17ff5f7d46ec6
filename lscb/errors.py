"""The interfaces' error types, import-free (the CLI imports this on every command)."""


class ConfigurationError(Exception):
    """The configuration cannot serve the request (no key, a bad value): one line for the user."""
