"""This process's memory: what it holds, in words, and handing freed memory back.

Why its own module: every heavy stage of a national job (the training batches, scoring, the
explanations) logs what the process holds as it goes, so a job that grows towards the machine's
limit says where, and the same figures are what ``docs/scale.md`` reports.
"""

from __future__ import annotations

import contextlib

GIB = 1024 ** 3


def size_text(n: int | float) -> str:
    """Bytes in words people read: ``'12.3 GB'``, ``'45 MB'``.

    >>> size_text(3 * GIB), size_text(5 * 1024 ** 2)
    ('3.0 GB', '5 MB')
    """
    return f"{n / GIB:.1f} GB" if n >= 0.1 * GIB else f"{n / 1024 ** 2:.0f} MB"


def process_memory() -> str:
    """Resident memory now and at the process's peak, e.g. ``'8.2 GB (peak 9.8 GB)'``;
    ``'unknown'`` where psutil or ``/proc`` cannot tell."""
    try:
        import resource

        import psutil

        now = psutil.Process().memory_info().rss
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return f"{size_text(now)} (peak {size_text(peak)})"
    except Exception:  # noqa: BLE001 - no psutil or no /proc: the log line without it
        return "unknown"


def release() -> None:
    """Hand memory freed by a stage back to the system before the next one allocates.

    Why: a national snapshot's build allocates and frees ~4 GB (query results, Arrow buffers,
    frames); the C allocators keep much of it cached, so the process grew by more than the rows
    it kept after every training batch (measured: +0.9 GB a batch where +0.3 GB were kept)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(Exception):  # no pyarrow pool to trim
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)
