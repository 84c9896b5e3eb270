"""Tabular mode end to end: table -> roles -> split -> types -> models -> evaluation -> outputs.

The ordering is the point: the split happens before anything is learned, so type inference,
rare-level pooling, date references, hyperparameters and the model choice see training rows only.
Baselines and the model are then evaluated on the very same test rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskcohort import io
from riskcohort.errors import UserError
from riskcohort.tabular import explanations, models
from riskcohort.tabular.infer import TableTyper
from riskcohort.tabular.roles import Roles, check_roles, parse_time, read_table

logger = logging.getLogger(__name__)


@dataclass
class TabularResult:
    """What a tabular run produced (paths and the headline choices)."""

    out_dir: Path
    chosen: str
    cv_auc: dict
    excluded: list[dict]
    metrics: dict
    n_train: int
    n_test: int


def split_rows(label: pd.Series, time: pd.Series | None, test_fraction: float, seed: int):
    """Boolean test mask: the latest rows by time, or a stratified random share.

    >>> lab = pd.Series([0, 1] * 5)
    >>> split_rows(lab, pd.Series(pd.date_range("2024-01-01", periods=10)), 0.3, 0).tolist()
    [False, False, False, False, False, False, False, True, True, True]
    """
    if not 0.05 <= test_fraction <= 0.8:
        raise UserError(f"--test-fraction must be between 0.05 and 0.8 (got {test_fraction})")
    if time is not None:
        order = np.argsort(time.to_numpy(), kind="stable")
        n_test = int(round(len(label) * test_fraction))
        mask = np.zeros(len(label), dtype=bool)
        mask[order[len(label) - n_test :]] = True
        return pd.Series(mask, index=label.index)
    rng = np.random.default_rng(seed)
    mask = pd.Series(False, index=label.index)
    for value in (0, 1):
        idx = label.index[label == value].to_numpy()
        chosen = rng.choice(idx, size=int(round(len(idx) * test_fraction)), replace=False)
        mask[chosen] = True
    return mask


def _monotone(typer: TableTyper, roles: Roles) -> list[int]:
    kinds = {p.name: p.kind for p in typer.plan}
    for col in (*roles.increasing, *roles.decreasing):
        if kinds.get(col) in (None, "excluded", "categorical"):
            raise UserError(
                f"monotone constraint on {col!r} is not possible: the column is "
                f"{kinds.get(col, 'not an input')} (rule: only numeric, boolean or date inputs)"
            )
    return [1 if p.name in roles.increasing else -1 if p.name in roles.decreasing else 0
            for p in typer.inputs]


def _baseline_scores(frame: pd.DataFrame, roles: Roles, source: str) -> dict[str, np.ndarray]:
    scores = {}
    for col in roles.baselines:
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.notna().sum() == 0:
            raise UserError(f"{source}: baseline column {col!r} has no numeric values")
        # An unscored row ranks last, as a tool that did not score a person did not flag them.
        scores[col] = values.fillna(values.min() - 1).to_numpy(dtype=float)
    return scores


@dataclass
class _Split:
    """The table's rows split once: label, parsed time (or None), and the test/train masks."""

    label: pd.Series
    time: pd.Series | None
    test: pd.Series
    train: pd.Series

    def times(self, mask) -> pd.Series | None:
        return None if self.time is None else self.time[mask]


def _split(frame: pd.DataFrame, roles: Roles, source: str, test_fraction: float,
           seed: int) -> _Split:
    """Check the roles and hold out test rows (the latest by time when there is a time column),
    refusing a split that leaves one class on either side (nothing could be learned or
    measured)."""
    label = check_roles(frame, roles, source)
    time = parse_time(frame[roles.time], roles.time, source) if roles.time else None
    test = split_rows(label, time, test_fraction, seed)
    train = ~test
    if label[test].nunique() < 2 or label[train].nunique() < 2:
        raise UserError(f"{source}: the split leaves one class only in train or test rows")
    return _Split(label, time, test, train)


def _type_columns(frame: pd.DataFrame, roles: Roles, sp: _Split, source: str,
                  log: Callable[[str], Any]) -> TableTyper:
    """Infer each input column's type on the training rows only (no test-row leakage) and say
    which columns were excluded and why."""
    candidates = [c for c in frame.columns if c not in roles.reserved]
    typer = TableTyper().fit(frame.loc[sp.train, candidates], sp.label[sp.train],
                             sp.times(sp.train))
    for p in typer.excluded:
        log(f"warning: column {p.name!r} excluded: {p.reason}")
    if not typer.inputs:
        raise UserError(f"{source}: no usable input columns remain after exclusions")
    return typer


def _choose(X_tr: pd.DataFrame, y_tr: np.ndarray, order, typer: TableTyper, roles: Roles,
            seed: int, log: Callable[[str], Any]) -> tuple[models.Candidate, dict[str, float]]:
    """Tune both families on the training rows and keep the better cross-validated ROC AUC
    (LightGBM on a tie); returns the chosen candidate and both AUCs."""
    lgb_c = models.tune_lightgbm(X_tr, y_tr, order, _monotone(typer, roles), seed)
    skewed = {p.name for p in typer.inputs if p.skewed}
    lr_c = models.tune_logistic(X_tr, y_tr, order, skewed, seed)
    chosen = lgb_c if not lr_c.cv_auc > lgb_c.cv_auc else lr_c
    log(f"model choice: {chosen.family} (cross-validated ROC AUC lightgbm "
        f"{lgb_c.cv_auc:.3f}, logistic {lr_c.cv_auc:.3f})")
    return chosen, {"lightgbm": lgb_c.cv_auc, "logistic": lr_c.cv_auc}


def _write_scores(out: Path, frame: pd.DataFrame, roles: Roles, sp: _Split,
                  chosen: models.Candidate, X_tr: pd.DataFrame, X_te: pd.DataFrame) -> np.ndarray:
    """``scores.csv`` for every row, marked train or test; returns the test rows' scores."""
    p_test = models.predict(chosen, X_te)
    scores = pd.DataFrame({
        "id": frame[roles.id].astype(str),
        "score": np.nan, "split": np.where(sp.test, "test", "train"),
    })
    scores.loc[sp.test, "score"] = p_test
    scores.loc[sp.train, "score"] = models.predict(chosen, X_tr)
    io.write_frame(out / "scores.csv", scores)
    return p_test


def _write_explanations(out: Path, frame: pd.DataFrame, roles: Roles, sp: _Split,
                        chosen: models.Candidate, X_tr: pd.DataFrame, X_te: pd.DataFrame) -> None:
    """Per-person log-odds contributions of the test rows, and the base value they add to."""
    base, values = explanations.contributions(chosen, X_te, X_tr)
    expl = explanations.long_format(frame.loc[sp.test, roles.id], X_te, values)
    io.write_frame(out / "explanations.parquet", expl)
    io.write_json(out / "explanations.json", {"base_value": base, "link": "logit",
                                              "model": chosen.family})


def run_tabular(path: str | Path, roles: Roles, out_dir: str | Path, test_fraction: float = 0.3,
                seed: int = 0,
                k: int = 100, n_boot: int = 500, tracking_uri: str | Literal[False] | None = None,
                log: Callable[[str], Any] | None = None) -> TabularResult:
    """Fit, choose, evaluate and explain on a person-level table; write the outputs.

    Progress goes to ``logging`` (``log``, a callable taking one message, overrides it)."""
    log = log or logger.info
    source = str(path)
    frame = read_table(path)
    sp = _split(frame, roles, source, test_fraction, seed)
    typer = _type_columns(frame, roles, sp, source, log)
    X_tr = typer.transform(frame.loc[sp.train], sp.times(sp.train))
    X_te = typer.transform(frame.loc[sp.test], sp.times(sp.test))
    order = None if sp.time is None else sp.time[sp.train].to_numpy().astype("int64")
    chosen, cv_auc = _choose(X_tr, sp.label[sp.train].to_numpy(), order, typer, roles, seed, log)
    out = Path(out_dir)
    p_test = _write_scores(out, frame, roles, sp, chosen, X_tr, X_te)

    from riskcohort.tabular.evaluation import evaluate_test_rows

    metrics = evaluate_test_rows(
        frame.loc[sp.test], sp.label[sp.test].to_numpy(), p_test,
        _baseline_scores(frame.loc[sp.test], roles, source), roles, k=k, n_boot=n_boot,
        seed=seed)
    metrics["model_choice"] = {"chosen": chosen.family, "cv_roc_auc": cv_auc,
                               "params": _jsonable(chosen.params)}
    n_train, n_test = int(sp.train.sum()), int(sp.test.sum())
    metrics["split"] = {"n_train": n_train, "n_test": n_test,
                        "by": "time" if sp.time is not None else "stratified random",
                        "test_fraction": test_fraction, "seed": seed}
    io.write_json(out / "metrics.json", metrics)
    io.write_json(out / "types.json", typer.describe())
    _write_explanations(out, frame, roles, sp, chosen, X_tr, X_te)
    _save_model(chosen, out)
    if tracking_uri is not False:
        from riskcohort.tabular.tracking import log_tabular_run

        log_tabular_run(out, source, tracking_uri)
    excluded = [{"name": p.name, "reason": p.reason} for p in typer.excluded]
    return TabularResult(out, chosen.family, cv_auc, excluded, metrics, n_train, n_test)


def _jsonable(params: dict) -> dict:
    return {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
            for k, v in params.items()}


def _save_model(candidate, out: Path) -> None:
    if candidate.family == "lightgbm":  # the calibrated CohortModel: text files, no pickle
        candidate.model.save(out / "model")
    else:
        import pickle

        with io.atomic_path(out / "model" / "logistic.pkl") as tmp:
            tmp.write_bytes(pickle.dumps(candidate.model))
