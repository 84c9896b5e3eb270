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


#: errno values that are the machine's state, not a bug: disk full, quota, read-only, denied.
ENVIRONMENT_ERRNOS = ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EIO", "EMFILE", "ENFILE")
#: The same faults as some libraries word them without an errno (SQLite, Arrow).
ENVIRONMENT_TEXTS = {
    "no space left on device": "ENOSPC",
    "database or disk is full": "ENOSPC",
    "read-only file system": "EROFS",
    "readonly database": "EROFS",
    "permission denied": "EACCES",
}


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


_PATH_NAMES = ("path", "dst", "target", "filename", "file", "out", "where")


def _path_in_traceback(exc: BaseException) -> str | None:
    """The file being written when ``exc`` was raised: an absolute path held by the innermost
    riskcohort frame (else any frame) in a local named like a path. Libraries such as Arrow
    raise ENOSPC without a file name."""
    import os

    tb, frames = exc.__traceback__, []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    ours = [f for f in frames if "riskcohort" in f.f_code.co_filename]
    for frame in [*reversed(ours), *reversed(frames)]:
        for name in _PATH_NAMES:
            value = frame.f_locals.get(name)
            if isinstance(value, str | os.PathLike) and os.path.isabs(os.fspath(value)):
                return os.fspath(value)
    return None


def environment_message(exc: BaseException) -> str | None:
    """One line for an environment fault anywhere in ``exc``'s chain (the path, the errno and
    what to do), or None when ``exc`` is not one (a bug keeps its traceback).

    >>> import errno
    >>> environment_message(OSError(errno.ENOSPC, "No space left on device", "/out/x.csv"))[:64]
    'disk full: /out/x.csv: No space left on device [Errno 28 ENOSPC]'
    >>> environment_message(ValueError("bad")) is None
    True
    """
    import errno as errno_mod

    for link in _chain(exc):
        code = getattr(link, "errno", None) if isinstance(link, OSError) else None
        name = errno_mod.errorcode.get(code, "") if isinstance(code, int) else ""
        text = str(getattr(link, "strerror", None) or link)
        if name not in ENVIRONMENT_ERRNOS:
            name = next((n for t, n in ENVIRONMENT_TEXTS.items() if t in str(link).lower()), "")
            code = getattr(errno_mod, name, None) if name else None
            text = str(link).splitlines()[0] if str(link) else type(link).__name__
        if not name:
            continue
        path = getattr(link, "filename", None) or _path_in_traceback(link)
        where = f"{path}: " if path else ""
        what, hint = {
            "ENOSPC": ("disk full", "free space or choose another folder"),
            "EDQUOT": ("disk quota exceeded", "free space or choose another folder"),
            "EROFS": ("read-only file system", "choose a writable folder"),
            "EACCES": ("permission denied", "choose a folder you can write to"),
            "EPERM": ("operation not permitted", "choose a folder you can write to"),
        }.get(name, ("input/output error", "check the disk and retry"))
        return f"{what}: {where}{text} [Errno {code} {name}]; {hint}"
    return None
