"""The one error type for what a user gave or has: bad input, a bad location, an unusable store.

Every layer raises a subclass of `UserError` for a problem the user can fix (a path, a URL, a
config value, an id, an output location, a store that cannot be opened). Its message names the
file, line, field or flag; the CLI prints it as one line and exits with status 2, and nothing was
written. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class UserError(ValueError):
    """Input or an environment the command cannot use; the message says what and where."""


class StoreError(UserError):
    """The store URL is malformed, unsupported, unreachable, not a database, or read-only."""


class EmptyDataError(UserError):
    """The store holds no rows for the requested data (nothing imported or built yet)."""


class RunRefError(UserError):
    """A run given by id or name that is not there, or not of the kind (or without the output)
    the command needs."""


class FlagError(UserError):
    """A flag's value the command cannot use (the message names the flag)."""


class OutputError(UserError):
    """An output location that is missing, of the wrong kind, or holds files Kindling did not write."""



class NotFound(LookupError):
    """A run, item or version a request named does not exist."""


class DataImportError(UserError):
    """A data file that cannot be imported; the message names file, line (or row) and field."""

    def __init__(
        self, path: Path | str, message: str, *, line: int | None = None,
        row: int | None = None, field: str | None = None,
    ) -> None:
        where = str(path)
        if line is not None:
            where += f" line {line}" + (f" (row {row})" if row is not None else "")
        elif row is not None:
            where += f" row {row}"
        if field:
            where += f": field {field}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.row, self.field = str(path), line, row, field
