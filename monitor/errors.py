"""Errors a user can fix: the CLI prints their message as one line and exits non-zero."""


class UserError(Exception):
    """A mistake in how the tool was called (missing file, unknown id, bad option value)."""
