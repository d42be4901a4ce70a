"""Errors meant for the person at the keyboard: one clear line, no traceback."""


class UserError(Exception):
    """A problem the user can fix (bad input, bad configuration, unreachable service).

    The command line prints ``mlpath: error: <message>`` and exits with ``exit_code``.
    """

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
