"""One exception for bad input: the CLI prints its message on one line and exits with status 2."""


class UserError(Exception):
    """Bad input from the user. The message names the problem and the fix."""
