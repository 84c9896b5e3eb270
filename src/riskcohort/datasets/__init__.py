"""riskcohort.datasets: versioned dataset updates (base + extract -> new version + what changed).

Public API: ``update_dataset`` (imported lazily: pandas and Arrow load only when it is called).
See docs/tracking.md, "Dataset versions".
"""

from __future__ import annotations


def update_dataset(base_dir, extract_dir, out_dir, **kwargs):
    """See :func:`riskcohort.datasets.update.update_dataset`."""
    from riskcohort.datasets.update import update_dataset as _update

    return _update(base_dir, extract_dir, out_dir, **kwargs)


__all__ = ["update_dataset"]
