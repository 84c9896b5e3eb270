"""Typed records of a run folder: the manifest, the metrics and the explanation summary.

Why records instead of dicts: a dict lets every reader guess (``systems`` or ``scores``?
``value`` or ``diff``?). A record has one set of fields; :meth:`from_dict` refuses a key it does
not know and a missing required one, naming the file, so a change of layout fails loudly at the
one place that reads it. The records are frozen: a run folder, once published, is a fact.
``get`` gives read-only mapping-style access for templates and summaries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from riskcohort.errors import UserError
from riskcohort.runfolder.layout import BACKTEST_SCHEMA_VERSION, SCHEMA_VERSION


class _Record:
    """Shared (de)serialisation: strict on unknown keys, mapping-style read access."""

    REQUIRED: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the file's content)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict, source: str = "record"):
        """Build from a file's dict; unknown or missing keys are a ``UserError`` naming them."""
        if not isinstance(data, dict):
            raise UserError(f"file {source}: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise UserError(f"file {source}: unknown keys {unknown}; rule: fields of "
                            f"{cls.__name__} (schema version {SCHEMA_VERSION}) only")
        missing = [k for k in cls.REQUIRED if k not in data]
        if missing:
            raise UserError(f"file {source}: missing keys {missing}; rule: {cls.__name__} "
                            f"requires {list(cls.REQUIRED)}")
        return cls(**data)

    def get(self, key: str, default: Any = None) -> Any:
        """Field value by name (``default`` when it is None or not a field)."""
        value = getattr(self, key, None)
        return default if value is None else value

    def replace(self, **changes: Any):
        """A copy with some fields changed (records are frozen)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class Manifest(_Record):
    """``run.json``: what was run, on which data and code, and what the folder holds.

    Written by :class:`~riskcohort.runfolder.writer.RunWriter` at publication. ``files`` maps
    every published file (relative path) to its sha256; ``complete`` is True only in a published
    folder; ``digest`` seals every other field (:meth:`sealed_digest`), so an edit of run.json is
    caught like an edit of a file. Two fields may change after publication, each by an atomic
    rewrite of run.json through this module: ``mlflow_run_id`` (tracking) and ``attachments``
    (derived files such as the governance report, each with its sha256).

    Paths are never absolute: ``data_dir`` is relative to the run folder, ``previous_run`` is a
    run id or a path relative to the work folder.
    """

    REQUIRED: ClassVar[tuple[str, ...]] = ("schema_version", "as_of")

    schema_version: int = SCHEMA_VERSION
    complete: bool = False
    files: dict[str, str] = field(default_factory=dict)
    attachments: dict[str, str] = field(default_factory=dict)
    kind: str = "iteration"  # "iteration" (trained here) | "score" (a registered model)
    experiment: str = ""
    experiment_file: str | None = None
    config: dict = field(default_factory=dict)
    as_of: str = ""
    data_dir: str | None = None
    fingerprint: str | None = None
    horizon_days: int = 365
    lookback_days: int | None = None
    serious_offences: list[str] = field(default_factory=list)
    domestic_only: bool = True
    k: int = 100
    cohort_size: int | None = None  #: people in the cohort: k, more when a tie sits at the cut-off
    cohort_note: str = ""  #: plain-English note when a tie made the cohort larger than k
    bands: dict[str, float] = field(default_factory=dict)
    seed: int | None = None
    features: list[str] = field(default_factory=list)
    missing_features: list[str] = field(default_factory=list)
    absent_sources: list[str] = field(default_factory=list)
    feature_notes: list[str] = field(default_factory=list)
    training_snapshots: list[str] = field(default_factory=list)
    hyperparameters: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    backtest: bool = False
    scored_with: dict | None = None
    previous_run: str | None = None
    quarantine: dict[str, dict[str, int]] = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    code_version: str | None = None
    created_at: str = ""
    mlflow_run_id: str | None = None
    digest: str | None = None

    #: Fields that may change after publication; every other field is sealed by ``digest``.
    MUTABLE: ClassVar[tuple[str, ...]] = ("mlflow_run_id", "attachments", "digest")

    def sealed_digest(self) -> str:
        """sha256 of the manifest's sealed fields (all but :attr:`MUTABLE`), canonical JSON."""
        import hashlib
        import json

        sealed = {k: v for k, v in self.to_dict().items() if k not in self.MUTABLE}
        text = json.dumps(sealed, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Metrics(_Record):
    """``metrics.json``: ``modelling.metrics.evaluate`` output plus the iteration's summary.

    ``scores[system][metric]`` and ``differences[baseline][metric]`` are ``{"value", "lo",
    "hi"}`` (95% bootstrap interval; differences are model minus baseline on the same
    resamples). ``backtest`` False means no outcome window: only ``validation`` is filled.
    """

    REQUIRED: ClassVar[tuple[str, ...]] = ("backtest",)

    backtest: bool = False
    incumbent: dict | None = None
    validation: dict = field(default_factory=dict)
    n: int | None = None
    positives: int | None = None
    base_rate: float | None = None
    homicides: int | None = None
    total_harm: float | None = None
    ks: list[int] = field(default_factory=list)
    n_boot: int | None = None
    seed: int | None = None
    reference: str | None = None
    calibration_bins: int | None = None
    scores: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    differences: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    cautions: list[str] = field(default_factory=list)
    targets: dict | None = None
    share_of_oracle: dict | None = None
    #: managed and unmanaged people evaluated separately (``modelling.treatment``, issue 17.3)
    by_management: dict | None = None


@dataclass(frozen=True)
class ExplanationSummary(_Record):
    """``explanations.json``: how the contributions in explanations.parquet add up.

    ``base_value`` is on the log-odds scale (``link``); base + the contributions of a person
    equal the model's raw margin to ``additivity_max_error``.
    """

    REQUIRED: ClassVar[tuple[str, ...]] = ("base_value",)

    base_value: float = 0.0
    link: str = "logit"
    method: str = ""
    expected_probability: float | None = None
    base_probability: float | None = None
    calibration: dict = field(default_factory=dict)
    n_people: int = 0
    snapshots: list[str] = field(default_factory=list)
    indicators: list[str] = field(default_factory=list)
    mean_abs_contribution: dict[str, float] = field(default_factory=dict)
    additivity_max_error: float | None = None
    score_max_abs_diff: float | None = None
    plots: list[str] = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BacktestSummary(_Record):
    """``backtest.json``: headline metrics per as-of date and, with two or more dates, top-k
    metrics pooled over the dates (``modelling.pooled``). ``runs`` are the per-date run folders
    relative to the backtest folder."""

    REQUIRED: ClassVar[tuple[str, ...]] = ("schema_version", "dates")

    schema_version: int = BACKTEST_SCHEMA_VERSION
    complete: bool = False
    experiment: str = ""
    dates: list[dict] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)
    pooled: dict | None = None
