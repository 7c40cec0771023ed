"""Errors a user can fix: the CLI prints their message as one line and exits with their code.

Exit codes: 0 done; 1 the command ran but part or all of its work failed (channels that could not be polled
or checked, drafts that break a rule); 2 a usage or config error (a bad option, config, database URL, file or
id: nothing was done). Click's own usage errors exit 2 as well.
"""

EXIT_FAILED = 1
EXIT_USAGE = 2


class UserError(Exception):
    """A mistake in how the tool was called (missing file, unknown id, bad option value)."""

    exit_code = EXIT_USAGE


class WorkFailed(UserError):
    """The command did its work, and part or all of it failed (what succeeded is kept)."""

    exit_code = EXIT_FAILED
