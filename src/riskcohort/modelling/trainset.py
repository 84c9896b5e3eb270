"""The training set, built a few snapshots at a time with negatives sampled as it is built.

Why: the all-at-once path built every training snapshot's indicators in one float64 block
(36 monthly snapshots x 2.3 M people x 63+ indicators = 38 GiB on the national preset) and only
then let the estimator drop 80% of the negatives. Here each batch of snapshots is built, sampled
and shrunk before the next one starts, so the peak is one batch plus the rows that are kept; the
kept model inputs go straight into one matrix (``TrainingSet.X``) that the estimator trains on
without copying it (``CohortModel.fit`` keeps float32, folds are row ranges of it).

Rules (the result equals the all-at-once frame with the same sampling, tested):

- **Sampling is per row and does not depend on batching**: a row is kept when a hash of
  ``(seed, person_id, as_of)`` falls below its snapshot's rate; every positive is kept; a kept
  negative weighs ``1 / rate`` (unbiased in expectation).
- **Training snapshots** use ``negative_sample`` (the experiment's), unless the whole training
  set would exceed :data:`ROW_BUDGET` rows; then their rate is lowered until it fits. Why that is
  safe: with ~1% positives the information of a rare-outcome model is in its positives; at the
  national preset the budget still leaves about ten negatives per positive (~0.4% of rows are
  positive).
- **Validation snapshots** (the latest ``cv_folds x cv_block_months``, where early stopping, the
  search metric and the calibrator look) are kept whole up to :data:`VALIDATION_ROW_BUDGET`
  rows (every force-sized job: results unchanged). Above it their negatives are sampled too, at
  the rate that keeps about that many rows and never below the training rate, with the weights
  carried into early stopping, the search metric (weighted average precision and top-share
  recall) and the calibrator's weighted fit, so the calibrator still sees the true share of
  positives (in expectation) rather than a sampled one.
- **float32 only where it changes nothing or where memory demands it**: up to
  :data:`FLOAT64_MAX_ROWS` rows the matrix is float64 (every value as built); above it float32
  (about 7 significant digits). LightGBM's split thresholds lie halfway between distinct values,
  so rounding can only move a value that lies within ~1e-7 of a threshold; the columns where
  rounding changed any value are named in the record (``memory_plan.rounded_columns``).

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
from riskcohort.memory import GIB, process_memory, release, size_text
from riskcohort.modelling import training

logger = logging.getLogger(__name__)

#: Rows built per batch (DuckDB's peak grows with it; a national snapshot is ~2.3 M rows).
DEFAULT_BATCH_ROWS = 2_500_000
#: Rows of validation snapshots kept whole; above it their negatives are sampled (weighted).
VALIDATION_ROW_BUDGET = 3_000_000
#: Rows of the whole training set; above it the training snapshots' negatives are sampled harder.
ROW_BUDGET = 8_000_000
#: Largest training matrix kept in float64; above it float32 (see the module doc).
FLOAT64_MAX_ROWS = 4_000_000
_MIN_RATE = 0.005  # the lowest training rate the budget may choose (then the plan refuses)
#: Bytes per value while a batch is built (the float block, the query results, the frame):
#: measured 11.5 on a national snapshot (2.9 M people x 117 indicators added 3.9 GB); 16 leaves
#: a margin.
_BUILD_BYTES_PER_VALUE = 16
#: Bytes per population row while a batch is built, besides its kept rows' values: the DuckDB
#: population and label tables and their pandas copies, before the population is cut to the
#: kept rows (``features.build(keep=...)``). Measured on national snapshots: 200-370 (a 3.1 M
#: population with 0.63 M rows kept peaked 1.8 GB above the memory held before it).
_POPULATION_BYTES_PER_ROW = 400
_KEY_BYTES_PER_ROW = 120  # person_id, as_of, labels, protected and intervention-role columns
#: Bytes per model input while fitting, besides the matrix: LightGBM's feature bins (1 byte) and
#: its row-wise histogram copy (2 bytes) of a fold, plus scikit-learn's NaN/inf check (1 byte).
_FIT_BYTES_PER_VALUE = 4
_POSITIVE_ALLOWANCE = 0.02  # positives are kept whole; ~1% of rows, doubled for safety


@dataclass
class Rates:
    """Negative sampling rates: training snapshots, validation snapshots, and why."""

    train: float
    validation: float
    configured: float
    reason: str = ""

    def as_dict(self) -> dict:
        return {"negative_sample_configured": self.configured,
                "negative_sample_training": self.train,
                "negative_sample_validation": self.validation,
                "row_budget": ROW_BUDGET, "validation_row_budget": VALIDATION_ROW_BUDGET,
                "rates_reason": self.reason}


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
    rates: Rates | None = None
    matrix_dtype: str = "float64"
    rounded_columns: list = field(default_factory=list)

    @property
    def peak_bytes(self) -> int:
        return int(max(self.build_bytes, self.fit_bytes))

    def as_dict(self) -> dict:
        return {"snapshots": self.snapshots, "people_per_snapshot": self.people_per_snapshot,
                "rows_estimated": self.rows_estimated, "columns": self.columns,
                "batches": len(self.batches), "build_bytes": self.build_bytes,
                "fit_bytes": self.fit_bytes, "peak_bytes": self.peak_bytes,
                "available_bytes": self.available_bytes, "matrix_dtype": self.matrix_dtype,
                "rounded_columns": list(self.rounded_columns),
                **(self.rates.as_dict() if self.rates else {})}

    def line(self) -> str:
        avail = ("unknown" if self.available_bytes is None
                 else f"{size_text(self.available_bytes)} available")
        rates = ""
        if self.rates is not None:
            rates = (f" (negatives kept: {self.rates.train:.3g} of training snapshots, "
                     f"{self.rates.validation:.3g} of validation snapshots)")
        return (f"training set: {self.snapshots} snapshots x ~{self.people_per_snapshot:,} "
                f"people -> ~{self.rows_estimated:,} rows after sampling{rates}, {self.columns} "
                f"indicators as {self.matrix_dtype}, built in {len(self.batches)} batches; "
                f"estimated peak {size_text(self.peak_bytes)} ({avail})")


@dataclass
class TrainingSet:
    """The sampled training rows (sorted by ``as_of``, ``person_id``) and their weights.

    ``X`` holds the model inputs (``features``, in the built frame's column order) as one
    C-ordered matrix; ``keys`` every other column (person_id, as_of, labels, protected and
    intervention-role columns), row for row. :attr:`frame` assembles both into one DataFrame
    (a copy: for small jobs and tests).
    """

    keys: pd.DataFrame
    X: np.ndarray
    features: list
    weights: np.ndarray
    rows_before_sampling: int
    whole_snapshots: list
    plan: MemoryPlan
    notes: list = field(default_factory=list)
    columns: list = field(default_factory=list)  # the built frame's column order

    @property
    def frame(self) -> pd.DataFrame:
        """Keys and model inputs as one DataFrame, in the built column order (a copy)."""
        inputs = pd.DataFrame(self.X, columns=list(self.features), copy=True)
        out = pd.concat([self.keys.reset_index(drop=True), inputs], axis=1)
        out = out[[c for c in self.columns if c in out.columns]] if self.columns else out
        out.attrs["notes"] = list(self.notes)
        return out

    @property
    def validation_rows(self) -> np.ndarray:
        """Rows of the rolling-origin validation snapshots."""
        dates = pd.to_datetime(self.keys["as_of"]).dt.date.to_numpy()
        return np.isin(dates, list(self.whole_snapshots))

    def record(self) -> dict:
        """What run.json says about the training set (``training.training_set``)."""
        return {"rows_before_sampling": int(self.rows_before_sampling),
                "rows": int(len(self.keys)),
                "positives": int(self.keys[training.LABEL].sum()) if len(self.keys) else 0,
                "snapshots_kept_whole": ([str(s) for s in self.whole_snapshots]
                                         if self.plan.rates is None
                                         or self.plan.rates.validation >= 1 else []),
                "validation_snapshots": [str(s) for s in self.whole_snapshots],
                "memory_plan": self.plan.as_dict()}


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


def sample_weights(frame: pd.DataFrame, rate: float, seed: int, whole=(),
                   validation_rate: float = 1.0) -> np.ndarray:
    """Weight per row: 1 for positives, ``1/rate`` for kept negatives (rows of the ``whole``
    validation snapshots: ``1/validation_rate``), 0 for dropped ones. The same row hash decides
    both, so a row kept at a lower rate is also kept at any higher one."""
    y = frame[training.LABEL].to_numpy()
    w = np.ones(len(frame))
    if (rate >= 1 and validation_rate >= 1) or len(frame) == 0:
        return w
    dates = pd.to_datetime(frame["as_of"]).dt.date.to_numpy()
    in_whole = np.isin(dates, list(whole))
    u = row_uniform(frame["person_id"], frame["as_of"], seed)
    for mask, r in ((~in_whole & (y <= 0), rate), (in_whole & (y <= 0), validation_rate)):
        if r < 1:
            w[mask] = np.where(u[mask] < r, 1.0 / r, 0.0)
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
    """The rolling-origin validation snapshots (see the module doc for how they are sampled)."""
    out = set()
    for _train, val in training.folds(sorted(snaps), cfg.horizon_days, cfg.cv_folds,
                                      cfg.cv_block_months, cfg.min_train_snapshots):
        out.update(val)
    return sorted(out)


def _nice(rate: float) -> float:
    """A rate rounded down to 3 significant digits (readable in run.json, never above)."""
    if rate >= 1 or rate <= 0:
        return float(min(max(rate, 0.0), 1.0))
    digits = 2 - int(np.floor(np.log10(rate)))
    return float(np.floor(rate * 10 ** digits) / 10 ** digits)


def sampling_rates(sizes, snaps, whole, negative_sample: float,
                   row_budget: int | None = None,
                   validation_budget: int | None = None) -> Rates:
    """The rates of the module doc, from the estimated people per snapshot.

    >>> r = sampling_rates([100] * 10, list(range(10)), [8, 9], 0.2)
    >>> r.train, r.validation
    (0.2, 1.0)
    >>> r = sampling_rates([2_300_000] * 36, list(range(36)), list(range(30, 36)), 0.2)
    >>> r.train, r.validation
    (0.0485, 0.217)
    """
    row_budget = ROW_BUDGET if row_budget is None else int(row_budget)
    validation_budget = VALIDATION_ROW_BUDGET if validation_budget is None \
        else int(validation_budget)
    whole = set(whole)
    val_rows = sum(n for s, n in zip(snaps, sizes, strict=True) if s in whole)
    train_rows = sum(n for s, n in zip(snaps, sizes, strict=True) if s not in whole)
    rate = float(negative_sample)
    reasons = []
    v_rate = 1.0
    if val_rows > validation_budget:
        v_rate = _nice(max(rate, validation_budget / val_rows))
        reasons.append(f"validation snapshots hold ~{val_rows:,} rows, more than the "
                       f"{validation_budget:,}-row budget kept whole")
    val_kept = val_rows * min(1.0, v_rate + _POSITIVE_ALLOWANCE)
    room = row_budget - val_kept - train_rows * _POSITIVE_ALLOWANCE
    if train_rows and rate < 1 and train_rows * (rate + _POSITIVE_ALLOWANCE) + val_kept \
            > row_budget:
        new = _nice(max(_MIN_RATE, room / train_rows))
        if new < rate:
            reasons.append(f"the training set would exceed the {row_budget:,}-row budget at "
                           f"negative_sample = {rate}")
            rate = new
    if rate < 1 and val_rows > validation_budget:
        v_rate = max(v_rate, rate)
    return Rates(rate, v_rate, float(negative_sample), "; ".join(reasons))


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
    out: list[list] = []
    cur: list = []
    rows = 0
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
             available: int | None, rates: Rates | None = None) -> MemoryPlan:
    """Rows kept and bytes at the two peaks: building a batch (on top of the rows kept so far)
    and fitting (the matrix, the keys, LightGBM's bins of a fold and a check's mask).

    ``rates`` (from :func:`sampling_rates`) overrides ``rate`` with the budgeted rates; without
    it the training snapshots use ``rate`` and the validation snapshots are kept whole.
    """
    from riskcohort.features.engine import CHUNK_ROWS

    rates = rates or Rates(float(rate), 1.0, float(rate))
    whole = set(whole)
    size_of = dict(zip(snaps, sizes, strict=True))
    kept_of = {s: n * min(1.0, (rates.validation if s in whole else rates.train)
                          + _POSITIVE_ALLOWANCE) for s, n in size_of.items()}
    kept = sum(kept_of.values())
    batches = batches_of(snaps, sizes, batch_rows)
    # one batch in flight: its population (labels, the cut), the indicators of its kept rows
    # and the queries of one pass over at most CHUNK_ROWS of them (features.build)
    in_flight = max((sum(kept_of[s] * n_columns * 8 + size_of[s] * _POPULATION_BYTES_PER_ROW
                         for s in b)
                     + min(sum(kept_of[s] for s in b), CHUNK_ROWS) * n_columns
                     * (_BUILD_BYTES_PER_VALUE - 8)
                     for b in batches), default=0)
    dtype = "float32" if kept > FLOAT64_MAX_ROWS else "float64"
    width = 4 if dtype == "float32" else 8
    matrix = kept * n_columns * width
    keys = kept * _KEY_BYTES_PER_ROW
    # building: the kept parts, the keys and one batch in flight; assembling the matrix at the
    # end holds the parts and the matrix being filled (each part is freed once copied)
    build = matrix + keys + max(int(in_flight), matrix // max(1, len(batches)))
    fit = matrix + keys + kept * n_columns * _FIT_BYTES_PER_VALUE
    return MemoryPlan(len(snaps), int(max(sizes, default=0)), int(kept), n_columns, batches,
                      int(build), int(fit), available, rates, dtype)


def _candidates(cfg, n_snaps: int):
    """Settings that shrink the job, mildest first: fewer validation snapshots, fewer
    negatives, fewer snapshots (never so few that no validation fold is left)."""
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


def plan_for(cfg, sizes, snaps, n_columns: int, batch_rows: int, available: int | None,
             row_budget: int | None = None) -> MemoryPlan:
    """The memory plan of ``cfg`` on these snapshots (rates budgeted, then estimated)."""
    whole = whole_snapshots(cfg, snaps)
    rates = sampling_rates(sizes, snaps, whole, cfg.negative_sample, row_budget)
    return estimate(sizes, snaps, whole, rates.train, n_columns, batch_rows, available, rates)


def check_fits(plan: MemoryPlan, cfg, sizes, snaps, whole, n_columns: int,
               batch_rows: int = DEFAULT_BATCH_ROWS, row_budget: int | None = None) -> None:
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
        if not whole_snapshots(alt, tail):
            continue
        p = plan_for(alt, [size_of[s] for s in tail], tail, n_columns, batch_rows, None,
                     row_budget)
        if p.peak_bytes <= plan.available_bytes:
            hints.append(f"{text} (~{size_text(p.peak_bytes)})")
            if len(hints) == 2:
                break
    advice = ("set " + " or ".join(hints) + f" in {where}") if hints else (
        f"no single setting in {where} brings it under; use a machine with more memory")
    raise UserError(
        f"memory: rule 'the training job fits in memory': {plan.line()}; it needs about "
        f"{size_text(plan.peak_bytes)} but {size_text(plan.available_bytes)} is available"
        f"{_limit_text()}; {advice}")


def _limit_text() -> str:
    limit = os.environ.get("RISKCOHORT_MEMORY_LIMIT")
    return (f" (RISKCOHORT_MEMORY_LIMIT={limit} less what the process already holds)"
            if limit else "")


# ---- building ------------------------------------------------------------------------------
def _assemble(parts: list, n_columns: int, dtype) -> np.ndarray:
    """One C-ordered matrix from the batch parts; each part is freed as soon as it is copied,
    so the peak is the matrix plus one part, not twice the matrix."""
    n = sum(len(p) for p in parts)
    out = np.empty((n, n_columns), dtype=dtype)
    at = 0
    while parts:
        part = parts.pop(0)
        out[at:at + len(part)] = part
        at += len(part)
        del part
    return out


def build_training_set(dataset, cfg, snaps, *, known_by, build=None,
                       batch_rows: int | None = None,
                       row_budget: int | None = None) -> TrainingSet:
    """Indicators and labels of ``snaps``, a batch at a time, sampled as they come.

    ``build(dataset, cfg, snapshots, labels, known_by, keep=...)`` builds one batch (the
    iteration's feature call; injectable for tests). ``keep`` is the sampling mask, applied
    by the builder before the indicators are aggregated (only the kept rows are built: the
    same rows and values as sampling afterwards, a fraction of the work).
    ``batch_rows`` overrides the rows per batch, ``row_budget`` the :data:`ROW_BUDGET` (tests).
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
    plan = plan_for(cfg, sizes, snaps, n_columns, batch_rows, available_bytes(), row_budget)
    rates = plan.rates or Rates(cfg.negative_sample, 1.0, cfg.negative_sample)
    logger.info(plan.line())
    if rates.reason:
        logger.info("negative sampling: %s; training snapshots keep %.3g of negatives "
                    "(configured %s), validation snapshots %.3g, weighted back", rates.reason,
                    rates.train, rates.configured, rates.validation)
    check_fits(plan, cfg, sizes, snaps, whole, n_columns, batch_rows, row_budget)
    dtype = np.float32 if plan.matrix_dtype == "float32" else np.float64
    parts, keys, weights, notes, before = [], [], [], [], 0
    features: list | None = None
    columns: list = []
    rounded: set = set()
    def keep(frame: pd.DataFrame) -> np.ndarray:
        return sample_weights(frame, rates.train, cfg.seed, whole, rates.validation) > 0

    for i, batch in enumerate(plan.batches):
        frame = build(dataset, cfg, batch, True, known_by, keep=keep)
        notes.extend(frame.attrs.get("notes", []))
        n_rows = int(frame.attrs.get("population_rows", len(frame)))
        before += n_rows
        # sample first (the row hash does not depend on order), then sort the kept rows only:
        # a sorted copy of a whole national snapshot would cost GBs
        w = sample_weights(frame, rates.train, cfg.seed, whole, rates.validation)
        kept = w > 0  # every row when the builder applied ``keep``; the same mask if not
        frame = frame.loc[kept].assign(_weight=w[kept])
        frame = frame.sort_values(["as_of", "person_id"], kind="stable").reset_index(drop=True)
        w_kept = frame.pop("_weight").to_numpy()
        if features is None:
            features = training.feature_columns(frame, cfg.exclude_features)
            columns = list(frame.columns)
        elif list(frame.columns) != columns:
            raise RuntimeError(f"training batch {i + 1} has other columns than batch 1")
        block = frame[features].to_numpy(dtype=np.float64)
        part = block.astype(dtype, order="C")
        if dtype is np.float32:
            same = (part == block) | (np.isnan(block) & np.isnan(part))
            rounded.update(np.asarray(features)[~same.all(axis=0)].tolist())
        del block
        parts.append(part)
        # copy: with copy-on-write, drop() keeps the batch's whole float block alive when a key
        # column (a label) shares it - measured +0.6 GB per national batch without the copy
        keys.append(frame.drop(columns=features).copy())
        weights.append(w_kept)
        n_kept = int(kept.sum())
        del frame, kept, w, w_kept
        release()
        logger.info("training snapshots batch %d/%d (%s..%s): %d rows, %d kept; process "
                    "memory %s", i + 1, len(plan.batches), batch[0], batch[-1], n_rows, n_kept,
                    process_memory())
    features = features or []
    X = _assemble(parts, len(features), dtype)
    key_frame = pd.concat(keys, ignore_index=True) if keys else pd.DataFrame()
    del keys
    w_all = np.concatenate(weights) if weights else np.ones(0)
    notes = list(dict.fromkeys(notes))
    key_frame.attrs["notes"] = notes
    plan.rounded_columns = sorted(rounded)
    if rounded:
        logger.info("training matrix float32: rounding changed values of %d columns (%s)",
                    len(rounded), ", ".join(sorted(rounded)[:5]))
    logger.info("training set: %d rows kept of %d (%d positives), %.2f GB in memory",
                len(key_frame), before,
                int(key_frame[training.LABEL].sum()) if len(key_frame) else 0,
                (X.nbytes + key_frame.memory_usage(deep=False).sum()) / GIB)
    return TrainingSet(key_frame, X, list(features), w_all, before, whole, plan, notes, columns)
