"""Experiment configuration: one TOML file says what a run trains, scores and reports.

Why a file: an iteration must be reproducible and reviewable (governance), so everything that
changes the numbers - data folder, snapshots, outcome, model search space, cohort size, bootstrap
settings, seeds - lives in a versioned file, and the run manifest copies it. Relative paths in the
file resolve against the file's own folder (so a config works from any working directory); the
command line may override the data folder, the as-of date and the output folder.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskcohort.contract.schema import OFFENCES, SERIOUS_HARM_OFFENCES
from riskcohort.errors import UserError, examples

DEFAULT_BANDS = {"high": 0.10, "elevated": 0.03, "moderate": 0.01}
KNOWN_SECTIONS = {"experiment", "data", "outcome", "training", "model", "cohort", "evaluation",
                  "backtest"}


@dataclass
class ExperimentConfig:
    """A loaded experiment (see ``experiments/iteration-3.toml`` for every key, documented)."""

    name: str
    path: Path | None
    data_dir: Path | None
    as_of: dt.date | None = None
    out_dir: Path | None = None
    seed: int = 0
    horizon_days: int = 365
    serious_offences: tuple[str, ...] = SERIOUS_HARM_OFFENCES
    domestic_only: bool = True
    lookback_days: int = 1825
    snapshots: list[dt.date] | None = None
    snapshot_every_months: int = 1
    min_history_days: int = 365
    max_snapshots: int = 36
    negative_sample: float = 1.0
    exclude_features: tuple[str, ...] = ()
    cv_folds: int = 3
    cv_block_months: int = 2
    min_train_snapshots: int = 2
    model_spec_path: Path | None = None
    model_spec: dict = field(default_factory=dict)
    calibration: str = "auto"
    k: int = 100
    bands: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BANDS))
    ks: tuple[int, ...] = (50, 100, 200)
    n_boot: int = 1000
    eval_seed: int = 0
    incumbent_window_days: int = 31
    backtest_from: dt.date | None = None
    backtest_to: dt.date | None = None
    backtest_every_months: int = 6
    max_quarantine: float | None = None  # [data] max_quarantine (contract.gate; None = 1%)
    raw: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain-JSON view for the run manifest."""
        out = {}
        for key, val in self.__dict__.items():
            if key in ("raw", "model_spec"):
                continue
            if isinstance(val, (Path, dt.date)):
                val = str(val)
            elif isinstance(val, tuple):
                val = list(val)
            elif isinstance(val, list):
                val = [str(v) for v in val]
            out[key] = val
        return out


def parse_date(value: Any, where: str) -> dt.date:
    """A date from TOML (native date) or text ``YYYY-MM-DD``; a clear error otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UserError(f"{where}: rule 'date YYYY-MM-DD', got {examples([value])}") from None


def _read_toml(path: Path, what: str) -> dict:
    if not path.is_file():
        raise UserError(f"{what} {path}: file not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{what} {path}: not valid TOML ({exc})") from None


def _resolve(base: Path, value: str | None) -> Path | None:
    if value in (None, ""):
        return None
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def load_model_spec(path: Path) -> dict:
    """The model spec (fixed LightGBM parameters, search space, monotone settings)."""
    spec = _read_toml(path, "model spec")
    for key in ("fixed", "search"):
        if key not in spec:
            raise UserError(f"model spec {path}: rule 'section [{key}] required'")
    selection(spec, f"model spec {path}")
    return spec


SELECTION_METRICS = ("average_precision", "top_share_recall")


def selection(spec: dict, where: str = "model spec") -> tuple[str, float]:
    """The ``[selection]`` metric and top share of a model spec, checked (defaults: average
    precision, 1%)."""
    sel = spec.get("selection", {})
    metric = sel.get("metric", "average_precision")
    if metric not in SELECTION_METRICS:
        raise UserError(f"{where}: [selection] metric {metric!r}: rule one of "
                        + ", ".join(repr(m) for m in SELECTION_METRICS))
    share = sel.get("share", 0.01)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 0.5:
        raise UserError(f"{where}: [selection] share {share!r}: rule between 0 (excluded) "
                        "and 0.5")
    return str(metric), float(share)


def load_experiment(path, data=None, as_of=None, out=None) -> ExperimentConfig:
    """Read an experiment TOML; ``data``/``as_of``/``out`` (command line) override the file."""
    path = Path(path).resolve()
    raw = _read_toml(path, "experiment")
    unknown = set(raw) - KNOWN_SECTIONS
    if unknown:
        raise UserError(f"experiment {path}: rule 'known sections', unknown {examples(unknown)}")
    base = path.parent
    exp, outc, tr = raw.get("experiment", {}), raw.get("outcome", {}), raw.get("training", {})
    mod, coh, ev, bt = (raw.get(s, {}) for s in ("model", "cohort", "evaluation", "backtest"))
    where = f"experiment {path}"
    cfg = ExperimentConfig(
        name=str(exp.get("name", path.stem)),
        path=path,
        data_dir=_resolve(base, exp.get("data")),
        out_dir=_resolve(base, exp.get("out")),
        seed=int(exp.get("seed", 0)),
        raw=raw,
    )
    if exp.get("as_of"):
        cfg.as_of = parse_date(exp["as_of"], f"{where}, key experiment.as_of")
    cfg.horizon_days = int(outc.get("horizon_days", cfg.horizon_days))
    cfg.serious_offences = tuple(outc.get("serious_offences", SERIOUS_HARM_OFFENCES))
    bad = [o for o in cfg.serious_offences if o not in OFFENCES]
    if bad:
        raise UserError(f"{where}, key outcome.serious_offences: rule 'contract offence', "
                        f"got {examples(bad)}")
    cfg.domestic_only = bool(outc.get("domestic_only", True))
    cfg.lookback_days = int(outc.get("lookback_days", cfg.lookback_days))
    if tr.get("snapshots"):
        cfg.snapshots = sorted(parse_date(d, f"{where}, key training.snapshots")
                               for d in tr["snapshots"])
    for key in ("snapshot_every_months", "min_history_days", "max_snapshots", "cv_folds",
                "cv_block_months", "min_train_snapshots"):
        setattr(cfg, key, int(tr.get(key, getattr(cfg, key))))
    cfg.negative_sample = float(tr.get("negative_sample", cfg.negative_sample))
    if not 0 < cfg.negative_sample <= 1:
        raise UserError(f"{where}, key training.negative_sample: rule '0 < value <= 1'")
    cfg.exclude_features = tuple(tr.get("exclude_features", ()))
    spec = mod.get("spec")
    if spec:
        cfg.model_spec_path = _resolve(base, spec)
        cfg.model_spec = load_model_spec(cfg.model_spec_path)
    else:
        cfg.model_spec = default_model_spec()
    if "n_trials" in mod:  # a quicker search for small data without a second spec file
        cfg.model_spec = {**cfg.model_spec,
                          "search": {**cfg.model_spec["search"], "n_trials": int(mod["n_trials"])}}
    cfg.calibration = str(mod.get("calibration", "auto"))
    if cfg.calibration not in ("auto", "isotonic", "platt"):
        raise UserError(f"{where}, key model.calibration: rule 'auto|isotonic|platt', "
                        f"got {examples([cfg.calibration])}")
    cfg.k = int(coh.get("k", cfg.k))
    cfg.bands = {str(k): float(v) for k, v in coh.get("bands", DEFAULT_BANDS).items()}
    cfg.ks = tuple(int(k) for k in ev.get("ks", cfg.ks))
    cfg.n_boot = int(ev.get("n_boot", cfg.n_boot))
    cfg.eval_seed = int(ev.get("seed", cfg.eval_seed))
    cfg.incumbent_window_days = int(ev.get("incumbent_window_days", cfg.incumbent_window_days))
    if bt.get("from"):
        cfg.backtest_from = parse_date(bt["from"], f"{where}, key backtest.from")
    if bt.get("to"):
        cfg.backtest_to = parse_date(bt["to"], f"{where}, key backtest.to")
    cfg.backtest_every_months = int(bt.get("every_months", cfg.backtest_every_months))
    if "max_quarantine" in raw.get("data", {}):
        from riskcohort.contract.gate import check_bound

        cfg.max_quarantine = check_bound(raw["data"]["max_quarantine"],
                                         f"{where}, key data.max_quarantine")
    # command-line overrides
    if data is not None:
        cfg.data_dir = Path(data).expanduser().resolve()
    if as_of is not None:
        cfg.as_of = parse_date(as_of, "option --as-of")
    if out is not None:
        cfg.out_dir = Path(out).expanduser().resolve()
    if cfg.data_dir is None:
        raise UserError(f"{where}: rule 'experiment.data or --data required', no data folder given")
    return cfg


def default_model_spec() -> dict:
    """The spec used when an experiment names none (same as ``models/lightgbm.toml``)."""
    return {
        "fixed": {"objective": "binary", "learning_rate": 0.05, "max_rounds": 1000,
                  "early_stopping_rounds": 50, "num_threads": 2},
        "search": {"n_trials": 4, "num_leaves": [7, 15, 31], "min_child_samples": [50, 200],
                   "feature_fraction": [0.7, 1.0], "lambda_l2": [0.0, 10.0]},
        "monotone": {"use_catalogue": True},
    }
