"""The ``score`` job: score a dataset with a registered model, without training.

The output is an ordinary run folder (scores, features, explanations, model, run.json with
``kind: "score"`` and ``scored_with``), staged and published whole like any run, so explain,
the app and compare work on it unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from riskcohort import runfolder
from riskcohort.errors import UserError
from riskcohort.runfolder import layout as L
from riskcohort.workflow.run import (
    check_quarantine,
    explain_into,
    manifest_record,
    portable_validation,
)

logger = logging.getLogger(__name__)


def _date(as_of) -> dt.date:
    import pandas as pd

    try:
        return pd.Timestamp(as_of).date()
    except (ValueError, TypeError):
        raise UserError(f"option --as-of: rule 'a date YYYY-MM-DD', got {as_of!r}") from None


def score_registered(model_ref: str | int, data_dir: str | Path, as_of: str | dt.date,
                     out_dir: str | Path, *, tracking_uri: str | None = None,
                     work: str | Path | None = None, k: int | None = None,
                     max_quarantine: float | None = None,
                     overwrite: bool = False) -> Path:
    """Publish a run folder scoring ``data_dir`` at ``as_of`` with a registered model."""
    from riskcohort import features
    from riskcohort.contract import gate, load_dataset
    from riskcohort.modelling import treatment
    from riskcohort.modelling.config import DEFAULT_BANDS
    from riskcohort.modelling.iteration import SCORE_COLUMNS, score_frame
    from riskcohort.modelling.model import CohortModel
    from riskcohort.tracking import params, registry, scoring, store
    from riskcohort.tracking.guard import champion_guard

    when = _date(as_of)
    c = store.client(tracking_uri, work)
    with runfolder.RunWriter(out_dir, overwrite=overwrite,
                             guard=champion_guard(c.tracking_uri)) as writer:
        reg = registry.load_registered(model_ref, tracking_uri=c.tracking_uri, dst=writer.staging)
        src = scoring.source_manifest(c, reg.run_id)
        cfg = scoring.settings(src)
        dataset = load_dataset(data_dir, report_dir=writer.path(L.VALIDATION_DIR))
        counts = check_quarantine(dataset, None, max_quarantine, writer)
        kwargs: dict[str, Any] = {"horizon_days": int(cfg["horizon_days"]),
                                  "lookback_days": int(cfg["lookback_days"]),
                                  "domestic_only": bool(cfg["domestic_only"])}
        if cfg["serious_offences"]:
            kwargs["serious_offences"] = tuple(cfg["serious_offences"])
        feats = features.build(dataset, [when], labels=False, **kwargs)
        if len(feats) == 0:
            raise UserError(f"data {data_dir}: as-of {when}: rule 'someone to score', nobody "
                            "had a domestic incident known in the lookback window")
        model = CohortModel.load(reg.model_dir)
        feats = treatment.for_scoring(feats, model.feature_names_in_)
        missing = [f for f in model.feature_names_in_ if f not in feats.columns]
        k = int(k or cfg["k"])
        bands = cfg["bands"] or DEFAULT_BANDS
        scores = score_frame(model, feats, k, bands)[SCORE_COLUMNS]
        cols = ["person_id", "as_of", *[f for f in model.feature_names_in_ if f in feats.columns]]
        feats = feats[cols].assign(person_id=lambda f: f["person_id"].astype(str))
        writer.write_frame(L.FEATURES, feats)
        writer.write_frame(L.SCORES, scores)
        manifest = manifest_record({
            **{key: src[key] for key in scoring.CARRIED if key in src},
            "kind": "score", "as_of": str(when), "data_dir": str(Path(data_dir).resolve()),
            "fingerprint": getattr(dataset, "fingerprint", None), **kwargs,
            "serious_offences": list(kwargs.get("serious_offences") or
                                     src.get("serious_offences") or []),
            "k": k, "bands": bands, "features": [str(f) for f in model.feature_names_in_],
            "missing_features": missing,
            **{key: scores.attrs["cohort"][key] for key in ("cohort_size", "cohort_note")},
            "absent_sources": list(getattr(dataset, "absent", []) or []),
            "quarantine": gate.record(counts), "backtest": False,
            "scored_with": scoring.scored_with(reg, model_ref),
            "versions": params.package_versions(), "code_version": params.code_version({}),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }, writer.target)
        if not missing:
            explain_into(writer, manifest, feats, scores, dataset)
        portable_validation(writer)
        out = writer.publish(manifest)
    logger.info("published run folder %s", out)
    return out
