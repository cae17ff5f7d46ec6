"""What a route raises to end a request early; `portal.app` answers each the same way everywhere."""

from __future__ import annotations


class NotFound(Exception):
    """Answered with the generic 404 page (also for resources the user may not see)."""


class LoginRequired(Exception):
    """No live session: answered with a redirect to the sign-in page."""


class CsrfFailed(Exception):
    """The form's token is not the session's (or the sign-in form's): answered with a 403 page."""
