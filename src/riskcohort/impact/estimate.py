"""``estimate_impact``: relative risk of serious harm, managed vs comparable unmanaged people.

Why this design (and not the obvious one): the people a team manages are the riskiest people it
can see, so comparing them with everyone else makes any management look harmful, and comparing
them with "low-risk" people after the fact makes it look like a miracle. The estimate here asks,
for each management start: among the people the team could have picked that month, with the
same chance of being picked given what the team saw (point-in-time indicators, the incumbent's
score, the rule scores), how often did the picked and the not-picked go on to serious harm over
the same window (management + 12 months)? The comparison group is fixed at the start
("not picked that month", whatever happened later): excluding people picked later would drop the
people whose risk rose, which biases the estimate; keeping them can only dilute a real effect
towards no effect, and the share is reported. Intervals come from a bootstrap that resamples
people (a person can be picked several times and serve as a comparison many times).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskcohort.errors import UserError, examples
from riskcohort.impact import design, matching

logger = logging.getLogger(__name__)

N_BOOT = 500
KEY_COVARIATES = ("incumbent", "iteration_2", "matac_rfgv", "v100_harm", "dash_dara",
                  "da_count_365d", "harm_365d", "days_since_last_da")
METHOD = (
    "matched comparison: at each management start month, people picked that month vs people "
    "of the scored population not under management that day, matched within the month (up to "
    "3 nearest, with replacement, caliper 0.2 SD of the logit) on the out-of-fold propensity "
    "of being picked given the point-in-time indicators, the incumbent's score and the rule "
    "scores (levels and within-month ranks); outcome: serious domestic harm perpetrated from "
    "the start to 12 months after management ended, the same window for the comparison; "
    "comparison outcomes bias-corrected by an out-of-fold prognostic model of harm fitted on "
    "the unmanaged (Abadie-Imbens); relative risk of cumulative incidence; 95% interval from "
    "a bootstrap clustered by person"
)
ASSUMPTIONS = [
    "Observational: no randomisation. The estimate is causal only if the team's choice depended "
    "on nothing that also predicts harm beyond what was recorded at the month start "
    "(indicators, incumbent score, rule scores). Unmeasured selection (officer judgement, "
    "intelligence not in the extract) biases it either way.",
    "Spillover: managing a perpetrator may change the harm of people around them (victims, "
    "associates) who serve as comparisons; the estimate assumes it does not.",
    "Differential recording: a managed person is watched more closely, so more of their "
    "incidents may be recorded while managed (biasing towards harm) or victims may report less "
    "(biasing towards benefit).",
    "The comparison is 'not picked that month': comparison people picked later stay in the "
    "comparison (their share is reported); this dilutes a real effect towards no effect and "
    "never creates one.",
    "It applies to people near the team's cut-off (those with comparable unpicked people); "
    "the very highest-risk people, always picked, have no comparison and are left out.",
    "Outcome as recorded in this extract: serious domestic harm (homicide, attempted murder, "
    "GBH with intent, GBH) by the person, occurred in the window; only windows complete by the "
    "extract date are used.",
]


def _dataset(data):
    if hasattr(data, "tables"):
        return data
    from riskcohort.contract import load_dataset

    return load_dataset(Path(data))


def _interventions(ds, kind: str) -> pd.DataFrame:
    iv = ds.tables.get("interventions")
    if iv is None or len(iv) == 0:
        raise UserError(f"folder {ds.root}: table interventions: rule impact_needs_interventions: "
                        "no interventions table (contract v1.1) or it has no rows; the impact "
                        "of management can only be estimated from recorded management periods")
    kinds = sorted(iv["kind"].astype(str).unique())
    if kind not in kinds:
        raise UserError(f"file interventions: column kind: rule impact_kind: no {kind!r} rows; "
                        f"kinds present: {examples(kinds)}")
    return iv


def _snapshot(ds, months: list[pd.Timestamp]) -> pd.DataFrame:
    """Point-in-time indicators and the scores the team had at each month start."""
    from riskcohort import features
    from riskcohort.modelling import baselines

    f = features.build(ds, months)
    parts = []
    for m, g in f.groupby("as_of", sort=True):
        b = baselines.compute(g, dataset=ds, as_of=m).drop(columns=["oracle"], errors="ignore")
        ranks = b.rank(pct=True).add_suffix("_rank")
        parts.append(pd.concat([g, b, ranks], axis=1))
    return pd.concat(parts, ignore_index=True)


def _relative_risk(y_t, w_t, y_c, w_c) -> tuple[float, float, float]:
    rt = float(np.sum(w_t * y_t) / np.sum(w_t))
    rc = float(np.sum(w_c * y_c) / np.sum(w_c))
    return (rt / rc if rc > 0 else float("nan")), rt, rc


def estimate_impact(data: Any, date_from: str | dt.date, date_to: str | dt.date, *,
                    kind: str = "dapst_managed", seed: int = 0,
                    n_boot: int = N_BOOT) -> dict:
    """Relative risk of serious harm for management starts in [date_from, date_to].

    ``data``: a dataset folder or a loaded ``Dataset``. Returns the JSON-ready result (keys
    ``relative_risk, lo, hi, n_managed, n_comparison, method, assumptions, warnings`` and
    details). A user mistake (no interventions, unknown kind, no complete window) is a
    ``UserError``.
    """
    lo_d, hi_d = pd.Timestamp(date_from), pd.Timestamp(date_to)
    if hi_d < lo_d:
        raise UserError(f"options --from/--to: rule date_order: --from {lo_d.date()} is after "
                        f"--to {hi_d.date()}")
    ds = _dataset(data)
    iv = _interventions(ds, kind)
    periods = design.periods_of(iv, kind)
    extract_end = pd.to_datetime(ds.tables["incidents"]["recorded_at"]).max().normalize()
    units, counts = design.treated_units(periods, lo_d, hi_d, extract_end)
    if len(units) == 0:
        raise UserError(
            f"file interventions: column start_date: rule impact_complete_window: no {kind} "
            f"period starting {lo_d.date()}..{hi_d.date()} has ended and been followed for "
            f"{design.AFTER_DAYS} days by the extract date {extract_end.date()} "
            f"({counts['starts_in_range']} starts, {counts['still_open']} still open); "
            "choose an earlier --to")
    months = sorted(units["month"].unique())
    snap = _snapshot(ds, [pd.Timestamp(m) for m in months])
    snap["person_id"] = snap["person_id"].astype(str)
    key = units.set_index(["person_id", "month"])
    picked = pd.MultiIndex.from_frame(snap[["person_id", "as_of"]]).isin(key.index)
    # not candidates: people under management that month (other than the picked themselves)
    busy = np.zeros(len(snap), dtype=bool)
    for m in months:
        rows = (snap["as_of"] == m).to_numpy()
        nxt = pd.Timestamp(m) + pd.offsets.MonthBegin(1)
        starts = periods.loc[(periods["start"] >= m) & (periods["start"] < nxt), "person_id"]
        out = design.managed_on(periods, pd.Timestamp(m)) | set(starts)
        busy |= rows & snap["person_id"].isin(out).to_numpy()
    keep = picked | ~busy
    snap = snap.loc[keep].reset_index(drop=True)
    picked = picked[keep]
    n_in_pop = int(picked.sum())
    counts["not_in_scored_population"] = int(len(units) - n_in_pop)

    cov = snap.drop(columns=["person_id", "as_of"]).select_dtypes("number")
    cov = cov.assign(month_index=snap["as_of"].rank(method="dense").to_numpy())
    p = matching.propensity(cov, picked, snap["person_id"].to_numpy(), seed=seed)
    score = matching.logit(p)
    caliper = matching.CALIPER_SD * float(np.std(score))
    month = snap["as_of"].to_numpy()
    t_rows, c_rows = matching.match(month, score, picked, caliper)
    matched_t = np.unique(t_rows)
    counts["no_comparable_unmanaged"] = int(n_in_pop - len(matched_t))
    if len(matched_t) == 0:
        raise UserError("file interventions: rule impact_no_comparison: no managed person has an "
                        "unmanaged person of comparable risk the same month (everyone at that "
                        "risk was managed); a matched comparison is impossible")

    # treated units (one per matched picked row) and comparison units (the same windows)
    t_frame = snap.loc[matched_t, ["person_id", "as_of"]].merge(
        units.rename(columns={"month": "as_of"}), on=["person_id", "as_of"], how="left")
    win = pd.Series(range(len(matched_t)), index=matched_t)
    c_set = win.loc[t_rows].to_numpy()  # which treated unit each comparison row belongs to
    c_frame = pd.DataFrame({"person_id": snap.loc[c_rows, "person_id"].to_numpy(),
                            "start": t_frame["start"].to_numpy()[c_set],
                            "window_end": t_frame["window_end"].to_numpy()[c_set]})
    events = design.serious_events(ds.tables["incidents"])
    y_t = design.outcomes(t_frame, events)
    y_c = design.outcomes(c_frame, events)
    size = np.bincount(c_set, minlength=len(t_frame)).astype(float)
    w_c = 1.0 / size[c_set]
    rr_raw, _, _ = _relative_risk(y_t, np.ones(len(y_t)), y_c, w_c)

    # the unmanaged of the same months (never the estimate; also trains the bias correction)
    cand = snap.loc[~picked, ["person_id", "as_of"]].rename(columns={"as_of": "start"})
    length = (t_frame["window_end"] - t_frame["start"]).median()
    cand["window_end"] = cand["start"] + length
    y_all = design.outcomes(cand, events)
    y_rows = np.zeros(len(snap))
    y_rows[~picked] = y_all
    mu = matching.prognostic(cov, y_rows, ~picked, snap["person_id"].to_numpy(), seed=seed)
    # bias correction: each comparison outcome moved by the prognostic difference to its match
    y_c = y_c + mu[t_rows] - mu[c_rows]
    rr, risk_t, risk_c = _relative_risk(y_t, np.ones(len(y_t)), y_c, w_c)

    # bootstrap clustered by person: each person's rows share one Poisson(1) multiplicity
    people, inv = np.unique(np.concatenate([t_frame["person_id"].to_numpy(dtype=str),
                                            c_frame["person_id"].to_numpy(dtype=str)]),
                            return_inverse=True)
    pt, pc = inv[:len(t_frame)], inv[len(t_frame):]
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        mult = rng.poisson(1.0, len(people)).astype(float)
        wt = mult[pt]
        wc = w_c * mult[pc] * wt[c_set]
        if wt.sum() == 0 or wc.sum() == 0:
            continue
        b, _, _ = _relative_risk(y_t, wt, y_c, wc)
        if np.isfinite(b) and b > 0:
            boots.append(np.log(b))
    lo, hi = (float(np.exp(np.percentile(boots, 2.5))), float(np.exp(np.percentile(boots, 97.5)))) \
        if len(boots) >= 50 else (float("nan"), float("nan"))

    naive = risk_t / y_all.mean() if y_all.mean() > 0 else float("nan")

    later = design.managed_within(c_frame, periods)
    balance = _balance(snap, score, matched_t, c_rows, w_c, picked)
    warnings = _warnings(y_t, y_c, w_c, counts, n_in_pop, later, w_c, balance, rr, lo, hi)
    result = {
        "relative_risk": _r(rr), "lo": _r(lo), "hi": _r(hi),
        "n_managed": int(len(t_frame)),
        "n_comparison": int(len(np.unique(c_frame["person_id"]))),
        "method": METHOD,
        "assumptions": ASSUMPTIONS,
        "warnings": warnings,
        "kind": kind, "from": str(lo_d.date()), "to": str(hi_d.date()),
        "extract_end": str(extract_end.date()),
        "outcome": "serious domestic harm perpetrated from the management start to "
                   f"{design.AFTER_DAYS} days after its end",
        "risk_managed": _r(risk_t), "risk_comparison": _r(risk_c),
        "relative_risk_matched_unadjusted": _r(rr_raw),
        "events_managed": int(y_t.sum()), "events_comparison": float(round(np.sum(w_c * y_c), 2)),
        "n_comparison_rows": int(len(c_frame)),
        "comparison_managed_later_share": _r(float(np.average(later, weights=w_c))),
        "management_starts": {k: int(v) for k, v in counts.items()},
        "months": [str(pd.Timestamp(m).date()) for m in months],
        "balance_smd": balance,
        "bootstrap": {"replicates": len(boots), "clustered_by": "person", "seed": seed},
        "naive_contrast": {
            "relative_risk": _r(naive),
            "label": "NOT the estimate: managed vs every unmanaged person of the same months "
                     "(who are lower-risk to begin with); shown only to say how far the "
                     "comparison moves it",
        },
    }
    logger.info("impact %s: RR %.3f (%.3f-%.3f), %d managed", kind, rr, lo, hi, len(t_frame))
    return result


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(round(x, 4))


def _balance(snap, score, matched_t, c_rows, w_c, picked) -> dict:
    """|SMD| before and after matching for the propensity and the key scores."""
    out = {}
    cols = {"propensity_logit": score}
    for c in KEY_COVARIATES:
        if c in snap:
            cols[c] = snap[c].to_numpy(dtype=float)
    for name, v in cols.items():
        out[name] = {"before": _r(matching.smd(v[picked], v[~picked])),
                     "after": _r(matching.smd(v[matched_t], v[c_rows], w_c))}
    return out


def _warnings(y_t, y_c, w_c, counts, n_in_pop, later, _w, balance, rr, lo, hi) -> list[str]:
    out = ["Observational estimate: see assumptions for what would bias it."]
    ev_t, ev_c = int(y_t.sum()), float(np.sum(w_c * y_c))
    if ev_t < 20 or ev_c < 20:
        out.append(f"Few outcome events (managed {ev_t}, comparison {ev_c:.1f} weighted): the "
                   "interval is wide and the bootstrap approximate.")
    if counts["still_open"] or counts["window_not_complete"]:
        out.append(f"{counts['still_open']} periods still open and {counts['window_not_complete']} "
                   "whose 12-month follow-up is not complete by the extract date were left out.")
    if n_in_pop and counts["no_comparable_unmanaged"] / n_in_pop > 0.1:
        out.append(f"{counts['no_comparable_unmanaged']} of {n_in_pop} managed people had no "
                   "unmanaged person of comparable risk (typically the very highest risk): the "
                   "estimate applies to people near the team's cut-off.")
    if counts.get("not_in_scored_population"):
        out.append(f"{counts['not_in_scored_population']} managed people were not in the scored "
                   "population at the month start and were left out.")
    share = float(np.average(later, weights=w_c)) if len(later) else 0.0
    if share > 0.2:
        out.append(f"{share:.0%} of the comparison were themselves managed later in their "
                   "window: a real effect is diluted towards 1 (never created).")
    bad = [k for k, v in balance.items() if v["after"] is not None and abs(v["after"]) > 0.1]
    if bad:
        out.append("Imbalance after matching (|SMD| > 0.1) on: " + ", ".join(bad) + ".")
    if np.isfinite(lo) and lo <= 1 <= hi:
        out.append("The interval includes 1: no effect is demonstrated.")
    return out
