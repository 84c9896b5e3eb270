"""Experiment configuration: one TOML file says what a run trains, scores and reports.

Why a file: an iteration must be reproducible and reviewable (governance), so everything that
changes the numbers - data folder, snapshots, outcome, model search space, cohort size, bootstrap
settings, seeds - lives in a versioned file, and the run manifest copies it. Relative paths in the
file resolve against the file's own folder (so a config works from any working directory); the
command line may override the data folder, the as-of date and the output folder.

Why strict and frozen: a typo (``max_snapshot = 12``) silently dropped would change the numbers
without a word, so every unknown section or key is an error naming the file, the section and the
key, with the nearest valid key. A loaded config never changes: overrides (the command line, a
retrain date) make a new object (:meth:`ExperimentConfig.with_overrides`), so what a run did is
what its config says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskcohort.contract.schema import SERIOUS_HARM_OFFENCES
from riskcohort.errors import UserError, examples

DEFAULT_BANDS = {"high": 0.10, "elevated": 0.03, "moderate": 0.01}

#: Every valid key of an experiment file, by section (see ``experiments/iteration-3.toml``).
EXPERIMENT_KEYS: dict[str, tuple[str, ...]] = {
    "experiment": ("name", "data", "as_of", "out", "seed"),
    "data": ("max_quarantine",),
    "outcome": ("horizon_days", "family", "serious_offences", "domestic_only", "lookback_days"),
    "training": ("snapshots", "snapshot_every_months", "min_history_days", "max_snapshots",
                 "negative_sample", "cv_folds", "cv_block_months", "min_train_snapshots",
                 "exclude_features", "interventions"),
    "model": ("spec", "calibration", "n_trials"),
    "cohort": ("k", "bands"),
    "evaluation": ("ks", "n_boot", "seed", "incumbent_window_days"),
    "backtest": ("from", "to", "every_months"),
}
KNOWN_SECTIONS = set(EXPERIMENT_KEYS)
#: Sections of a model spec; [fixed] and [search] hold LightGBM parameters (an open set).
SPEC_KEYS: dict[str, tuple[str, ...] | None] = {
    "fixed": None, "search": None, "selection": ("metric", "share"),
    "monotone": ("use_catalogue", "method"),
}


@dataclass(frozen=True)
class ExperimentConfig:
    """A loaded experiment (see ``experiments/iteration-3.toml`` for every key, documented).

    Frozen: use :meth:`with_overrides` for a changed copy. ``model_spec``, ``bands`` and ``raw``
    are plain dicts for JSON and estimator parameters; treat them as read-only.
    """

    name: str
    path: Path | None
    data_dir: Path | None
    as_of: dt.date | None = None
    out_dir: Path | None = None
    seed: int = 0
    max_quarantine: float | None = None
    horizon_days: int = 365
    serious_offences: tuple[str, ...] = SERIOUS_HARM_OFFENCES
    label_family: str = "serious_harm_v1"  # features.families: the named outcome definition
    domestic_only: bool = True
    lookback_days: int = 1825
    snapshots: tuple[dt.date, ...] | None = None
    snapshot_every_months: int = 1
    min_history_days: int = 365
    max_snapshots: int = 36
    negative_sample: float = 1.0
    exclude_features: tuple[str, ...] = ()
    interventions: str = "feature_fixed"  # modelling.treatment.DEFAULT (issue 17.3)
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
    raw: dict = field(default_factory=dict)

    def with_overrides(self, **changes: Any) -> ExperimentConfig:
        """A new config with ``changes`` applied (this one is unchanged); unknown names are an
        error.

        >>> cfg = ExperimentConfig("x", None, None)
        >>> cfg.with_overrides(k=50).k, cfg.k
        (50, 100)
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise UserError(f"config override: unknown setting {unknown[0]!r}"
                            + _suggest(unknown[0], names))
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Plain-JSON view for the run manifest."""
        out = {}
        for f in dataclasses.fields(self):
            if f.name in ("raw", "model_spec"):
                continue
            val = getattr(self, f.name)
            if isinstance(val, (Path, dt.date)):
                val = str(val)
            elif isinstance(val, tuple) and f.name == "snapshots":
                val = [str(v) for v in val]
            elif isinstance(val, tuple):
                val = list(val)
            out[f.name] = val
        return out


def _suggest(word: str, valid) -> str:
    """`` (did you mean 'x'?)`` for the nearest valid word, else nothing.

    >>> _suggest("max_snapshot", ["max_snapshots", "seed"])
    " (did you mean 'max_snapshots'?)"
    """
    near = difflib.get_close_matches(str(word), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def check_keys(raw: dict, schema: dict, where: str) -> None:
    """Every section and key of ``raw`` is in ``schema`` (``None`` = any key); else a UserError
    naming the file, section and key with the nearest valid one."""
    for section, body in raw.items():
        if section not in schema:
            raise UserError(f"{where}: unknown section [{section}]"
                            + _suggest(section, schema)
                            + "; valid sections: " + ", ".join(f"[{s}]" for s in schema))
        if not isinstance(body, dict):
            raise UserError(f"{where}: [{section}] must be a section (a table of keys), got "
                            f"{examples([body])}")
        valid = schema[section]
        if valid is None:
            continue
        for key in body:
            if key in valid:
                continue
            home = [s for s, keys in schema.items() if keys and key in keys]
            hint = (f" ({key!r} belongs in [{home[0]}])" if home
                    else _suggest(key, valid))
            raise UserError(f"{where}: section [{section}] has unknown key {key!r}{hint}; "
                            "valid keys: " + ", ".join(valid))


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
    check_keys(spec, SPEC_KEYS, f"model spec {path}")
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


def _outcome_keys(outc: dict, where: str, d: ExperimentConfig) -> dict[str, Any]:
    """``[outcome]``: the horizon, the label family and its offences, who is scored."""
    from riskcohort.features.families import resolve as resolve_family

    kw: dict[str, Any] = {"horizon_days": int(outc.get("horizon_days", d.horizon_days))}
    kw["label_family"], kw["serious_offences"] = resolve_family(outc, where)
    kw["domestic_only"] = bool(outc.get("domestic_only", True))
    kw["lookback_days"] = int(outc.get("lookback_days", d.lookback_days))
    return kw


def _training_keys(tr: dict, where: str, d: ExperimentConfig) -> dict[str, Any]:
    """``[training]``: snapshots, folds, sampling and how interventions are handled; values
    outside their rule are refused here, not deep inside training."""
    kw: dict[str, Any] = {}
    if tr.get("snapshots"):
        kw["snapshots"] = tuple(sorted(parse_date(v, f"{where}, key training.snapshots")
                                       for v in tr["snapshots"]))
    for key in ("snapshot_every_months", "min_history_days", "max_snapshots", "cv_folds",
                "cv_block_months", "min_train_snapshots"):
        kw[key] = int(tr.get(key, getattr(d, key)))
    kw["negative_sample"] = float(tr.get("negative_sample", d.negative_sample))
    if not 0 < kw["negative_sample"] <= 1:
        raise UserError(f"{where}, key training.negative_sample: rule '0 < value <= 1'")
    kw["exclude_features"] = tuple(tr.get("exclude_features", ()))
    from riskcohort.modelling.treatment import METHODS

    kw["interventions"] = str(tr.get("interventions", d.interventions))
    if kw["interventions"] not in METHODS:
        raise UserError(f"{where}, key training.interventions: rule '{'|'.join(METHODS)}', "
                        f"got {examples([kw['interventions']])}")
    return kw


def _model_keys(mod: dict, base: Path, where: str) -> dict[str, Any]:
    """``[model]``: the spec file (paths relative to the experiment file), an optional smaller
    search (``n_trials``, so small data needs no second spec file) and the calibration."""
    kw: dict[str, Any] = {}
    spec = mod.get("spec")
    if spec:
        kw["model_spec_path"] = _resolve(base, spec)
        model_spec = load_model_spec(kw["model_spec_path"])
    else:
        model_spec = default_model_spec()
    if "n_trials" in mod:
        model_spec = {**model_spec,
                      "search": {**model_spec["search"], "n_trials": int(mod["n_trials"])}}
    kw["model_spec"] = model_spec
    kw["calibration"] = str(mod.get("calibration", "auto"))
    if kw["calibration"] not in ("auto", "isotonic", "platt"):
        raise UserError(f"{where}, key model.calibration: rule 'auto|isotonic|platt', "
                        f"got {examples([kw['calibration']])}")
    return kw


def _cohort_evaluation_keys(coh: dict, ev: dict, bt: dict, where: str,
                            d: ExperimentConfig) -> dict[str, Any]:
    """``[cohort]``, ``[evaluation]`` and ``[backtest]``: what is shown and how it is judged."""
    kw: dict[str, Any] = {
        "k": int(coh.get("k", d.k)),
        "bands": {str(k): float(v) for k, v in coh.get("bands", DEFAULT_BANDS).items()},
        "ks": tuple(int(k) for k in ev.get("ks", d.ks)),
        "n_boot": int(ev.get("n_boot", d.n_boot)),
        "eval_seed": int(ev.get("seed", d.eval_seed)),
        "incumbent_window_days": int(ev.get("incumbent_window_days", d.incumbent_window_days)),
    }
    if bt.get("from"):
        kw["backtest_from"] = parse_date(bt["from"], f"{where}, key backtest.from")
    if bt.get("to"):
        kw["backtest_to"] = parse_date(bt["to"], f"{where}, key backtest.to")
    kw["backtest_every_months"] = int(bt.get("every_months", d.backtest_every_months))
    return kw


def _command_line(kw: dict[str, Any], data, as_of, out, where: str) -> None:
    """Command-line ``--data``/``--as-of``/``--out`` win over the file; a data folder is
    required from one or the other."""
    if data is not None:
        kw["data_dir"] = Path(data).expanduser().resolve()
    if as_of is not None:
        kw["as_of"] = parse_date(as_of, "option --as-of")
    if out is not None:
        kw["out_dir"] = Path(out).expanduser().resolve()
    if kw["data_dir"] is None:
        raise UserError(f"{where}: rule 'experiment.data or --data required', no data folder given")


def load_experiment(path: str | Path, data: str | Path | None = None,
                    as_of: str | dt.date | None = None,
                    out: str | Path | None = None) -> ExperimentConfig:
    """Read an experiment TOML; ``data``/``as_of``/``out`` (command line) override the file."""
    path = Path(path).resolve()
    raw = _read_toml(path, "experiment")
    where = f"experiment {path}"
    check_keys(raw, EXPERIMENT_KEYS, where)
    base = path.parent
    exp, outc, tr = raw.get("experiment", {}), raw.get("outcome", {}), raw.get("training", {})
    mod, coh, ev, bt = (raw.get(s, {}) for s in ("model", "cohort", "evaluation", "backtest"))
    d = ExperimentConfig("", None, None)  # the defaults
    kw: dict[str, Any] = {
        "name": str(exp.get("name", path.stem)), "path": path,
        "data_dir": _resolve(base, exp.get("data")), "out_dir": _resolve(base, exp.get("out")),
        "seed": int(exp.get("seed", 0)), "raw": raw,
        "max_quarantine": _quarantine_bound(raw, where),
    }
    if exp.get("as_of"):
        kw["as_of"] = parse_date(exp["as_of"], f"{where}, key experiment.as_of")
    kw.update(_outcome_keys(outc, where, d))
    kw.update(_training_keys(tr, where, d))
    kw.update(_model_keys(mod, base, where))
    kw.update(_cohort_evaluation_keys(coh, ev, bt, where, d))
    _command_line(kw, data, as_of, out, where)
    return ExperimentConfig(**kw)


def _quarantine_bound(raw: dict, where: str) -> float | None:
    """``[data] max_quarantine`` checked at load (a share in [0, 1]), or None (the gate's 1%)."""
    value = raw.get("data", {}).get("max_quarantine")
    if value is None:
        return None
    from riskcohort.contract.gate import check_bound

    return check_bound(value, f"{where}, key data.max_quarantine")


def default_model_spec() -> dict:
    """The spec used when an experiment names none (same as ``models/lightgbm.toml``)."""
    return {
        "fixed": {"objective": "binary", "learning_rate": 0.05, "max_rounds": 1000,
                  "early_stopping_rounds": 50, "num_threads": 2},
        "search": {"n_trials": 4, "num_leaves": [7, 15, 31], "min_child_samples": [50, 200],
                   "feature_fraction": [0.7, 1.0], "lambda_l2": [0.0, 10.0]},
        "monotone": {"use_catalogue": True},
    }
