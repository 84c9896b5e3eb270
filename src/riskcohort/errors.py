"""User-facing errors: raised for a user mistake, shown by the CLI as one clear message.

A ``UserError`` names what is wrong (file, column, rule, example values) and never surfaces as a
Python traceback. ``exit_code`` follows the CLI convention: 2 for structural input problems and
bad usage, 1 for a check that ran and failed.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; the message says what and where."""

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


def examples(values, limit: int = 5) -> str:
    """Format up to ``limit`` distinct example values for an error message.

    >>> examples(["a", "b", "a", None])
    "'a', 'b', None"
    """
    seen: list = []
    for v in values:
        if v not in seen:
            seen.append(v)
        if len(seen) >= limit:
            break
    return ", ".join(repr(v) for v in seen)
