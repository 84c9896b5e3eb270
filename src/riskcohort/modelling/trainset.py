"""The training set, built a few snapshots at a time with negatives sampled as it is built.

Why: the all-at-once path built every training snapshot's indicators in one float64 block
(36 monthly snapshots x 2.3 M people x 63+ indicators = 38 GiB on the national preset) and only
then let the estimator drop 80% of the negatives. Here each batch of snapshots is built, sampled
and shrunk before the next one starts, so the peak is one batch plus the rows that are kept.

Rules (the result equals the all-at-once frame with the same sampling, tested):

- **Sampling is per row and does not depend on batching**: a row is kept when a hash of
  ``(seed, person_id, as_of)`` falls below ``negative_sample``; every positive is kept; a kept
  negative weighs ``1 / negative_sample`` (unbiased in expectation).
- **Validation snapshots are kept whole** (weight 1): the rolling-origin validation blocks are
  where early stopping, the search metric and the calibrator look, and the calibrator must see
  the true share of positives, not a sampled one. They are the latest ``cv_folds x
  cv_block_months`` snapshots, so this costs a fixed number of snapshots, not a share of all.
- **float32 only where it changes nothing**: an indicator column is stored as float32 only when
  every value survives the round trip exactly (counts, days, flags); others stay float64, so the
  values the model sees are the same bit for bit.

Before the heavy work :func:`memory_plan` estimates the peak from the population sizes; when it
exceeds the memory available (``psutil``; ``RISKCOHORT_MEMORY_LIMIT`` caps it, e.g. ``16G``) the
job stops with a :class:`~riskcohort.errors.UserError` naming the figure and the setting that
would help, before anything is built.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskcohort.errors import UserError
from riskcohort.modelling import training

logger = logging.getLogger(__name__)

#: Rows built per batch (DuckDB's peak grows with it; a national snapshot is ~2.3 M rows).
DEFAULT_BATCH_ROWS = 2_500_000
#: Bytes per indicator value the estimator holds while fitting (it works on float64).
_FIT_COPIES = 2.5  # the float64 matrix, a fold's training copy, LightGBM's bins (estimated)
_BUILD_BYTES_PER_VALUE = 8 * 3  # a batch's float block, the query results and the frame
_POSITIVE_ALLOWANCE = 0.02  # positives are kept whole; ~1% of rows, doubled for safety
GIB = 1024 ** 3


@dataclass
class TrainingSet:
    """The sampled training rows (sorted by ``as_of``, ``person_id``) and their weights."""

    frame: pd.DataFrame
    weights: np.ndarray
    rows_before_sampling: int
    whole_snapshots: list
    plan: MemoryPlan
    notes: list = field(default_factory=list)

    def record(self) -> dict:
        """What run.json says about the training set (``training.training_set``)."""
        return {"rows_before_sampling": int(self.rows_before_sampling),
                "rows": int(len(self.frame)),
                "positives": int(self.frame[training.LABEL].sum()),
                "snapshots_kept_whole": [str(s) for s in self.whole_snapshots],
                "memory_plan": self.plan.as_dict()}


@dataclass
class MemoryPlan:
    """Estimated rows and bytes of the job, and the batches it builds."""

    snapshots: int
    people_per_snapshot: int
    rows_estimated: int
    columns: int
    batches: list
    build_bytes: int
    fit_bytes: int
    available_bytes: int | None

    @property
    def peak_bytes(self) -> int:
        return int(max(self.build_bytes, self.fit_bytes))

    def as_dict(self) -> dict:
        return {"snapshots": self.snapshots, "people_per_snapshot": self.people_per_snapshot,
                "rows_estimated": self.rows_estimated, "columns": self.columns,
                "batches": len(self.batches), "build_bytes": self.build_bytes,
                "fit_bytes": self.fit_bytes, "peak_bytes": self.peak_bytes,
                "available_bytes": self.available_bytes}

    def line(self) -> str:
        avail = ("unknown" if self.available_bytes is None
                 else f"{size_text(self.available_bytes)} available")
        return (f"training set: {self.snapshots} snapshots x ~{self.people_per_snapshot:,} "
                f"people -> ~{self.rows_estimated:,} rows after sampling, {self.columns} "
                f"indicators, built in {len(self.batches)} batches; estimated peak "
                f"{size_text(self.peak_bytes)} ({avail})")


# ---- sampling ------------------------------------------------------------------------------
def row_uniform(person_id, as_of, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per row, fixed by ``(seed, person_id, as_of)`` alone.

    Why a hash, not a random stream: the draw of a row must not depend on which batch or in
    which order it was built, so streaming and the all-at-once path keep the same rows.

    >>> u = row_uniform(["a", "b"], ["2024-01-01", "2024-01-01"], 0)
    >>> bool(((u >= 0) & (u < 1)).all()), bool(u[0] == row_uniform(["a"], ["2024-01-01"], 0)[0])
    (True, True)
    """
    keys = pd.DataFrame({"p": pd.Series(np.asarray(person_id), dtype=object).astype(str),
                         "t": pd.to_datetime(pd.Series(np.asarray(as_of))).dt.strftime("%Y-%m-%d")})
    h = pd.util.hash_pandas_object(keys, index=False, hash_key=f"riskcohort{int(seed) % 10**6:06d}")
    return (h.to_numpy(dtype=np.uint64) >> np.uint64(11)).astype(np.float64) / float(2 ** 53)


def sample_weights(frame: pd.DataFrame, rate: float, seed: int, whole=()) -> np.ndarray:
    """Weight per row: 1 for positives and rows of ``whole`` snapshots, ``1/rate`` for kept
    negatives, 0 for dropped ones."""
    y = frame[training.LABEL].to_numpy()
    w = np.ones(len(frame))
    if rate >= 1 or len(frame) == 0:
        return w
    dates = pd.to_datetime(frame["as_of"]).dt.date.to_numpy()
    sampled = ~np.isin(dates, list(whole)) & (y <= 0)
    keep = row_uniform(frame["person_id"], frame["as_of"], seed) < rate
    w[sampled] = np.where(keep[sampled], 1.0 / rate, 0.0)
    return w


def exact_float32(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Indicator columns cast to float32 where every value survives the round trip exactly."""
    for col in columns:
        values = frame[col].to_numpy()
        if values.dtype != np.float64:
            continue
        small = values.astype(np.float32)
        if np.array_equal(small.astype(np.float64), values, equal_nan=True):
            frame[col] = small
    return frame


def whole_snapshots(cfg, snaps) -> list:
    """The rolling-origin validation snapshots (kept unsampled: see the module doc)."""
    out = set()
    for _train, val in training.folds(sorted(snaps), cfg.horizon_days, cfg.cv_folds,
                                      cfg.cv_block_months, cfg.min_train_snapshots):
        out.update(val)
    return sorted(out)


# ---- memory plan ---------------------------------------------------------------------------
def population_sizes(tables: dict, snaps, lookback_days: int, domestic_only: bool = True):
    """Estimated people per snapshot: perpetrators with a (domestic) incident recorded in the
    lookback window before it (the scored population, without the custody extension)."""
    inc = tables["incidents"]
    if domestic_only and "domestic" in inc:
        inc = inc[inc["domestic"].fillna(False).astype(bool)]
    codes, _ = pd.factorize(inc["perpetrator_id"])
    rec = pd.to_datetime(inc["recorded_at"]).to_numpy(dtype="datetime64[ns]")
    out = []
    for s in snaps:
        t = np.datetime64(pd.Timestamp(s), "ns")
        m = (rec < t) & (rec >= t - np.timedelta64(int(lookback_days), "D"))
        out.append(int(np.count_nonzero(np.bincount(codes[m], minlength=1))))
    return out


def available_bytes() -> int | None:
    """Memory this process may still take: ``RISKCOHORT_MEMORY_LIMIT`` minus what it holds,
    else what the system reports available; None when neither is known."""
    limit = os.environ.get("RISKCOHORT_MEMORY_LIMIT")
    try:
        import psutil

        rss = psutil.Process().memory_info().rss
        avail = int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - no psutil or no /proc: plan without a bound
        rss, avail = 0, None
    if limit:
        cap = parse_bytes(limit) - rss
        return max(0, cap if avail is None else min(cap, avail))
    return avail


def parse_bytes(text: str) -> int:
    """``16G``, ``500M``, ``2.5GB`` or a number of bytes.

    >>> parse_bytes("16G"), parse_bytes("512m"), parse_bytes("1000")
    (17179869184, 536870912, 1000)
    """
    s = str(text).strip().upper().removesuffix("B")
    mult = {"K": 1024, "M": 1024 ** 2, "G": GIB, "T": 1024 ** 4}.get(s[-1:], 1)
    try:
        return int(float(s[:-1] if mult > 1 else s) * mult)
    except ValueError:
        raise UserError(f"environment RISKCOHORT_MEMORY_LIMIT: rule 'a size like 16G', got "
                        f"{text!r}") from None


def batches_of(snaps, sizes, batch_rows: int) -> list[list]:
    """Consecutive snapshots grouped so a batch holds about ``batch_rows`` rows (at least one)."""
    out, cur, rows = [], [], 0
    for s, n in zip(snaps, sizes, strict=True):
        if cur and rows + n > batch_rows:
            out.append(cur)
            cur, rows = [], 0
        cur.append(s)
        rows += n
    if cur:
        out.append(cur)
    return out


def estimate(sizes, snaps, whole, rate: float, n_columns: int, batch_rows: int,
             available: int | None) -> MemoryPlan:
    """Rows kept and bytes at the two peaks: building a batch (on top of the rows kept so far)
    and fitting (the estimator's float64 matrix and LightGBM's copies)."""
    whole = set(whole)
    kept = sum(n if s in whole else n * min(1.0, rate + _POSITIVE_ALLOWANCE)
               for s, n in zip(snaps, sizes, strict=True))
    batches = batches_of(snaps, sizes, batch_rows)
    size_of = dict(zip(snaps, sizes, strict=True))
    biggest = max((sum(size_of[s] for s in b) for b in batches), default=0)
    frame_bytes = kept * n_columns * 8
    build = frame_bytes + biggest * n_columns * _BUILD_BYTES_PER_VALUE
    fit = frame_bytes + kept * n_columns * 8 * _FIT_COPIES
    return MemoryPlan(len(snaps), int(max(sizes, default=0)), int(kept), n_columns, batches,
                      int(build), int(fit), available)


def _candidates(cfg, n_snaps: int):
    """Settings that shrink the job, mildest first: fewer validation snapshots kept whole,
    fewer negatives, fewer snapshots (never so few that no validation fold is left)."""
    for folds in (2, 1):
        if folds < cfg.cv_folds:
            yield f"[training] cv_folds = {folds}", {"cv_folds": folds}
    for rate in (0.1, 0.05, 0.02, 0.01):
        if rate < cfg.negative_sample:
            yield f"[training] negative_sample = {rate}", {"negative_sample": rate}
    for keep in (30, 24):
        if keep < n_snaps:
            yield f"[training] max_snapshots = {keep}", {"max_snapshots": keep}
    yield ("[training] negative_sample = 0.02 and cv_folds = 1",
           {"negative_sample": 0.02, "cv_folds": 1})


def size_text(n: int | float) -> str:
    """Bytes in words people read: ``'12.3 GB'``, ``'45 MB'``.

    >>> size_text(3 * GIB), size_text(5 * 1024 ** 2)
    ('3.0 GB', '5 MB')
    """
    return f"{n / GIB:.1f} GB" if n >= 0.1 * GIB else f"{n / 1024 ** 2:.0f} MB"


def check_fits(plan: MemoryPlan, cfg, sizes, snaps, whole, n_columns: int,
               batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
    """A UserError before any work when the estimated peak exceeds what is available, naming
    the figures and the settings that would bring it under (each re-estimated)."""
    import dataclasses

    if plan.available_bytes is None or plan.peak_bytes <= plan.available_bytes:
        return
    where = f"experiment {cfg.path}" if getattr(cfg, "path", None) else "the experiment"
    size_of = dict(zip(snaps, sizes, strict=True))
    hints = []
    for text, change in _candidates(cfg, len(snaps)):
        alt = dataclasses.replace(cfg, **change)
        tail = list(snaps)[-alt.max_snapshots:] if alt.max_snapshots else list(snaps)
        alt_whole = whole_snapshots(alt, tail)
        if not alt_whole:
            continue
        p = estimate([size_of[s] for s in tail], tail, alt_whole, alt.negative_sample, n_columns,
                     batch_rows, None)
        if p.peak_bytes <= plan.available_bytes:
            hints.append(f"{text} (~{size_text(p.peak_bytes)})")
            if len(hints) == 2:
                break
    advice = ("set " + " or ".join(hints) + f" in {where}") if hints else (
        f"no single setting in {where} brings it under (validation snapshots are kept whole); "
        "use a machine with more memory")
    raise UserError(
        f"memory: rule 'the training job fits in memory': {plan.line()}; it needs about "
        f"{size_text(plan.peak_bytes)} but {size_text(plan.available_bytes)} is available"
        f"{_limit_text()}; {advice}")


def _limit_text() -> str:
    limit = os.environ.get("RISKCOHORT_MEMORY_LIMIT")
    return (f" (RISKCOHORT_MEMORY_LIMIT={limit} less what the process already holds)"
            if limit else "")


# ---- building ------------------------------------------------------------------------------
def build_training_set(dataset, cfg, snaps, *, known_by, build=None,
                       batch_rows: int | None = None) -> TrainingSet:
    """Indicators and labels of ``snaps``, a batch at a time, sampled as they come.

    ``build(dataset, cfg, snapshots, labels, known_by)`` builds one batch (the iteration's
    feature call; injectable for tests). ``batch_rows`` overrides the rows per batch.
    """
    from riskcohort.features.engine import indicator_names

    if build is None:
        from riskcohort.modelling.iteration import _build as build
    tables = dataset.tables if hasattr(dataset, "tables") else dataset
    snaps = sorted(snaps)
    whole = whole_snapshots(cfg, snaps)
    sizes = population_sizes(tables, snaps, cfg.lookback_days, cfg.domestic_only)
    n_columns = len(indicator_names())
    batch_rows = int(batch_rows or DEFAULT_BATCH_ROWS)
    plan = estimate(sizes, snaps, whole, cfg.negative_sample, n_columns, batch_rows,
                    available_bytes())
    logger.info(plan.line())
    check_fits(plan, cfg, sizes, snaps, whole, n_columns, batch_rows)
    parts, notes, before = [], [], 0
    for i, batch in enumerate(plan.batches):
        frame = build(dataset, cfg, batch, True, known_by)
        notes.extend(frame.attrs.get("notes", []))
        frame = frame.sort_values(["as_of", "person_id"], kind="stable").reset_index(drop=True)
        before += len(frame)
        w = sample_weights(frame, cfg.negative_sample, cfg.seed, whole)
        keep = w > 0
        frame = frame.loc[keep].reset_index(drop=True)
        frame["_weight"] = w[keep]
        indicators = [c for c in frame.columns if c not in training.NON_FEATURES
                      and c != "_weight"]
        parts.append(exact_float32(frame, indicators))
        logger.info("training snapshots batch %d/%d (%s..%s): %d rows, %d kept",
                    i + 1, len(plan.batches), batch[0], batch[-1], len(keep), int(keep.sum()))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    del parts
    weights = frame.pop("_weight").to_numpy() if len(frame.columns) else np.ones(0)
    notes = list(dict.fromkeys(notes))
    frame.attrs["notes"] = notes
    logger.info("training set: %d rows kept of %d (%d positives), %.2f GB in memory",
                len(frame), before, int(frame[training.LABEL].sum()) if len(frame) else 0,
                frame.memory_usage(deep=False).sum() / GIB)
    return TrainingSet(frame, weights, before, whole, plan, notes)
