"""``estimate_impact``: relative risk of serious harm, managed vs comparable unmanaged people.

Why this design (and not the obvious one): the people a team manages are the riskiest people it
can see, so comparing them with everyone else makes any management look harmful. A team that
manages "its top K" cuts a ranking, so the comparable people are the ones just below its cut:
each month, the people the team newly picked against the people it could have picked and did
not, ranked next to them by the same ranking (``selection``: the incumbent's score, a rule
score, or a ranking learned from the picks, whichever reproduces the picks best). Inside that
cut-off region risk still falls with rank, so each person's expected harm without management
(a prognostic model fitted on unmanaged people) adjusts the comparison (``cutoff``). Outcomes
are followed over one fixed window for everyone. Built-in falsification: the same estimate at
a fake cut-off among people nobody picked must find nothing. The comparison group is fixed at
the month ("not picked that month", whatever happened later): keeping people picked later can
only dilute a real effect towards no effect; the share is reported.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskcohort.errors import UserError, examples
from riskcohort.impact import cutoff, design, matching, selection

logger = logging.getLogger(__name__)

N_BOOT = cutoff.N_BOOT
BANDWIDTH = 1.0  #: ranks below the cut compared, as a multiple of the month's picks (symmetric)
RECALIBRATE = False  #: default of ``recalibrate``: off, measured on twin forces (docs/impact.md)
RECALIBRATION_REGION = 20  #: the recalibration learns from unpicked ranks <= 20 x picks
KEY_COVARIATES = ("incumbent", "iteration_2", "matac_rfgv", "v100_harm", "dash_dara",
                  "da_count_365d", "harm_365d", "days_since_last_da")
METHOD = (
    "cut-off comparison (regression discontinuity design, local form) with prognostic "
    "adjustment: each month, the people not under management are ranked by the selection "
    "score (the team's ranking when a candidate reproduces its picks, otherwise a ranking "
    "learned out-of-fold from the picks; see 'selection'); the month's new management starts "
    "are compared with the unpicked people in the top (1 + {bw:g}) x picks ranks, i.e. as many "
    "ranks below the cut as there are picks above it; outcome: serious domestic harm "
    "perpetrated within {days} days of the start (the median management length, {typ} days, "
    "plus 12 months), the same fixed window for everyone; relative risk = observed/expected "
    "among the managed over observed/expected among the comparison, expected harm from an "
    "out-of-fold prognostic model fitted on every person not picked that month; 95% "
    "interval from a bootstrap clustered by person, widened to the exact Poisson interval for "
    "the event counts when that is wider. Checks reported beside it: the same "
    "estimate at a fake cut-off among unpicked people (must cover 1), a local-linear "
    "regression discontinuity on rank without the model, and other bandwidths."
)
ASSUMPTIONS = [
    "Observational: no randomisation. The estimate is causal only if, near the team's cut-off, "
    "who was picked depended on nothing that also predicts harm beyond the selection score and "
    "what was recorded at the month start. Officer judgement or intelligence not in the extract "
    "that moved people across the cut biases it (towards harm if the team picked the riskier "
    "people it could see and we cannot).",
    "The prognostic model must rank people inside the cut-off region correctly; its overall "
    "level cancels. The fake cut-off check tests this among people nobody picked.",
    "Spillover: managing a perpetrator may change the harm of people around them (victims, "
    "associates) who serve as comparisons; the estimate assumes it does not.",
    "Differential recording: a managed person is watched more closely, so more of their "
    "incidents may be recorded while managed (biasing towards harm) or victims may report less "
    "(biasing towards benefit).",
    "The comparison is 'not picked that month': comparison people picked later stay in the "
    "comparison (their share is reported); this dilutes a real effect towards no effect and "
    "never creates one. The estimate is of starting management (intention to treat), whatever "
    "its length.",
    "It applies to people near the team's cut-off; the very highest-risk people, far above "
    "the cut, are in it only through the adjustment.",
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


def _candidates(snap: pd.DataFrame, units: pd.DataFrame, periods: pd.DataFrame,
                months: list) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows the team could have picked each month: the picked plus everyone not under
    management that day (a person already managed cannot *start* management)."""
    key = units.set_index(["person_id", "month"])
    picked = pd.MultiIndex.from_frame(snap[["person_id", "as_of"]]).isin(key.index)
    busy = np.zeros(len(snap), dtype=bool)
    for m in months:
        rows = (snap["as_of"] == m).to_numpy()
        nxt = pd.Timestamp(m) + pd.offsets.MonthBegin(1)
        starts = periods.loc[(periods["start"] >= m) & (periods["start"] < nxt), "person_id"]
        out = design.managed_on(periods, pd.Timestamp(m)) | set(starts)
        busy |= rows & snap["person_id"].isin(out).to_numpy()
    keep = picked | ~busy
    return snap.loc[keep].reset_index(drop=True), picked[keep]


def _windows(snap: pd.DataFrame, picked: np.ndarray, units: pd.DataFrame,
             horizon: int) -> pd.DataFrame:
    """Each row's outcome window: a pick's own start; anyone else the month's median start."""
    median = units.groupby("month")["start"].median()
    start = snap["as_of"].map(median)
    own = snap[["person_id", "as_of"]].merge(
        units.rename(columns={"month": "as_of"})[["person_id", "as_of", "start"]],
        on=["person_id", "as_of"], how="left")["start"]
    start = start.where(~picked, own.to_numpy())
    return pd.DataFrame({"person_id": snap["person_id"], "start": start.to_numpy(),
                         "window_end": start.to_numpy() + pd.Timedelta(days=horizon)})


def _ratio(y, picked, w) -> float:
    rt, rc = np.sum(w[picked] * y[picked]), np.sum(w[~picked] * y[~picked])
    nt, nc = np.sum(w[picked]), np.sum(w[~picked])
    if nt <= 0 or nc <= 0 or rc <= 0:
        return float("nan")
    return float((rt / nt) / (rc / nc))


def estimate_impact(data: Any, date_from: str | dt.date, date_to: str | dt.date, *,
                    kind: str = "dapst_managed", seed: int = 0, n_boot: int = N_BOOT,
                    rule: str = "auto", bandwidth: float = BANDWIDTH,
                    recalibrate: bool = RECALIBRATE) -> dict:
    """Relative risk of serious harm for management starts in [date_from, date_to].

    ``data``: a dataset folder or a loaded ``Dataset``. ``rule``: the ranking the team cut
    (``auto`` = the candidate that reproduces the picks best; ``incumbent``, a rule score or
    ``learned`` to force one). ``recalibrate``: re-fit the prognostic model's predictions
    along the selection score near the cut (see ``RECALIBRATE``). Returns the JSON-ready
    result (keys ``relative_risk, lo, hi, n_managed, n_comparison, method, assumptions,
    warnings`` and details). A user mistake (no
    interventions, unknown kind, no complete window) is a ``UserError``.
    """
    lo_d, hi_d = pd.Timestamp(date_from), pd.Timestamp(date_to)
    if hi_d < lo_d:
        raise UserError(f"options --from/--to: rule date_order: --from {lo_d.date()} is after "
                        f"--to {hi_d.date()}")
    ds = _dataset(data)
    iv = _interventions(ds, kind)
    periods = design.periods_of(iv, kind)
    extract_end = pd.to_datetime(ds.tables["incidents"]["recorded_at"]).max().normalize()
    typical = design.typical_days(periods)
    horizon = typical + design.AFTER_DAYS
    units, counts = design.treated_units(periods, lo_d, hi_d, extract_end, horizon)
    if len(units) == 0:
        raise UserError(
            f"file interventions: column start_date: rule impact_complete_window: no {kind} "
            f"period starting {lo_d.date()}..{hi_d.date()} has been followed for {horizon} days "
            f"(median management length {typical} days + {design.AFTER_DAYS}) by the extract "
            f"date {extract_end.date()} ({counts['starts_in_range']} starts); choose an "
            "earlier --to")
    months = sorted(units["month"].unique())
    snap = _snapshot(ds, [pd.Timestamp(m) for m in months])
    snap["person_id"] = snap["person_id"].astype(str)
    snap, picked = _candidates(snap, units, periods, months)
    n_in_pop = int(picked.sum())
    counts["not_in_scored_population"] = int(len(units) - n_in_pop)
    month = snap["as_of"].to_numpy()
    people = snap["person_id"].to_numpy()
    x = snap.drop(columns=["person_id", "as_of"]).select_dtypes("number")
    x = x.assign(month_index=snap["as_of"].rank(method="dense").to_numpy())

    rule_name, score, agree = selection.choose(snap, x, picked, month, people, seed=seed,
                                               rule=rule)
    rank = selection.month_rank(score, month)
    n_picks = pd.Series(picked.astype(int)).groupby(month).transform("sum").to_numpy()

    windows = _windows(snap, picked, units, horizon)
    events = design.serious_events(ds.tables["incidents"])
    y = design.outcomes(windows, events)

    # expected harm without management: learned on every unpicked person, out-of-fold;
    # optionally recalibrated along the selection score near the cut
    mu0 = np.clip(matching.prognostic(x, y, ~picked, people, seed=seed), cutoff.FLOOR, None)
    if recalibrate:
        near = ~picked & cutoff.region(rank, n_picks, RECALIBRATION_REGION - 1)
        mu, recal = matching.recalibrate(mu0, score, y, near)
        mu = np.clip(mu, cutoff.FLOOR, None)
    else:
        mu, recal = mu0, {"applied": False, "reason": "off (recalibrate=False)"}

    reg = cutoff.region(rank, n_picks, bandwidth)
    t_rows = np.flatnonzero(reg & picked)
    c_rows = np.flatnonzero(reg & ~picked)
    counts["picked_outside_region"] = int(n_in_pop - len(t_rows))
    if len(t_rows) == 0 or len(c_rows) == 0:
        raise UserError("file interventions: rule impact_no_comparison: no month has unpicked "
                        "people next to the team's picks in the ranking; a comparison at the "
                        "cut-off is impossible")
    rows = np.concatenate([t_rows, c_rows])
    yy, mm, tt, pp = y[rows], mu[rows], picked[rows], people[rows]
    one = np.ones(len(rows))
    rr = cutoff.oe_ratio(yy, mm, tt, one)
    lo, hi, n_ok = cutoff.bootstrap(lambda w: cutoff.oe_ratio(yy, mm, tt, w), pp, n_boot, seed)
    # never narrower than the exact interval for the event counts (a bootstrap degenerates
    # with few events and ignores nothing else; the wider of the two is reported)
    elo, ehi = cutoff.exact_interval(yy, mm, tt)
    lo, hi = min(lo, elo), max(hi, ehi)
    rr_raw = _ratio(yy, tt, one)
    if not (np.isfinite(rr) and np.isfinite(lo) and np.isfinite(hi)):
        raise UserError(f"file interventions: rule impact_too_few_events: {int(yy[tt].sum())} "
                        f"serious-harm events among {len(t_rows)} managed and "
                        f"{int(yy[~tt].sum())} among {len(c_rows)} comparison people: no "
                        "relative risk or interval can be estimated; use a longer --from/--to")

    checks = _checks(y, mu, picked, rank, n_picks, people, bandwidth, rows, n_boot, seed)
    naive_all = float(np.mean(y[~picked]))
    naive = float(np.mean(yy[tt])) / naive_all if naive_all > 0 else float("nan")
    later = design.managed_within(windows.iloc[c_rows].reset_index(drop=True), periods)
    balance = _balance(snap, mu, t_rows, c_rows, picked)
    warnings = _warnings(yy, tt, counts, n_in_pop, later, balance, rr, lo, hi, agree,
                         rule_name, checks)
    result = {
        "relative_risk": _r(rr), "lo": _r(lo), "hi": _r(hi),
        "n_managed": int(len(t_rows)),
        "n_comparison": int(len(np.unique(people[c_rows]))),
        "method": METHOD.format(bw=bandwidth, days=horizon, typ=typical),
        "assumptions": ASSUMPTIONS,
        "warnings": warnings,
        "kind": kind, "from": str(lo_d.date()), "to": str(hi_d.date()),
        "extract_end": str(extract_end.date()),
        "outcome": f"serious domestic harm perpetrated within {horizon} days of the start "
                   f"(median management length {typical} days + {design.AFTER_DAYS})",
        "window_days": horizon,
        "selection": {"score": rule_name, "agreement": agree,
                      "note": "share of the team's picks that each ranking's within-month top "
                              "n holds (n = the month's new starts); the highest is used"},
        "bandwidth": bandwidth,
        "prognostic_recalibration": recal,
        "risk_managed": _r(float(np.mean(yy[tt]))),
        "risk_comparison": _r(float(np.mean(yy[~tt]))),
        "expected_managed": _r(float(np.mean(mm[tt]))),
        "expected_comparison": _r(float(np.mean(mm[~tt]))),
        "relative_risk_unadjusted": _r(rr_raw),
        "events_managed": int(yy[tt].sum()), "events_comparison": int(yy[~tt].sum()),
        "n_comparison_rows": int(len(c_rows)),
        "comparison_managed_later_share": _r(float(np.mean(later)) if len(later) else 0.0),
        "management_starts": {k: int(v) for k, v in counts.items()},
        "months": [str(pd.Timestamp(m).date()) for m in months],
        "balance_smd": balance,
        "bootstrap": {"replicates": n_ok, "clustered_by": "person", "seed": seed},
        "checks": checks,
        "naive_contrast": {
            "relative_risk": _r(naive),
            "label": "NOT the estimate: managed vs every unmanaged person of the same months "
                     "(who are lower-risk to begin with); shown only to say how far the "
                     "comparison moves it",
        },
    }
    logger.info("impact %s: RR %.3f (%.3f-%.3f), %d managed", kind, rr, lo, hi, len(t_rows))
    return result


def _checks(y, mu, picked, rank, n_picks, people, bandwidth, rows, n_boot, seed) -> dict:
    """Falsification and sensitivity: a fake cut-off, a model-free RD, other bandwidths."""
    out: dict[str, Any] = {}
    # fake cut-off: the next 2 x bandwidth x picks unpicked ranks below the region, split in two
    below = ~picked & ~cutoff.region(rank, n_picks, bandwidth) \
        & cutoff.region(rank, n_picks, 3 * bandwidth)
    fake_t = cutoff.region(rank, n_picks, 2 * bandwidth)[below]
    fy, fm, fp = y[below], mu[below], people[below]
    est = cutoff.oe_ratio(fy, fm, fake_t, np.ones(len(fy)))
    flo, fhi, _ = cutoff.bootstrap(lambda w: cutoff.oe_ratio(fy, fm, fake_t, w), fp, n_boot, seed)
    out["fake_cutoff"] = {"relative_risk": _r(est), "lo": _r(flo), "hi": _r(fhi),
                          "n": int(below.sum()),
                          "note": "same estimate among unpicked people only, upper vs lower "
                                  "half of the ranks just below the compared region: nobody "
                                  "was managed, so the interval should cover 1"}
    # model-free local-linear regression discontinuity on rank (intention to treat by side)
    r = (n_picks - rank + 0.5)[rows]
    yy, pp = y[rows], people[rows]
    est = cutoff.local_linear(yy, r, np.ones(len(yy)))
    llo, lhi, _ = cutoff.bootstrap(lambda w: cutoff.local_linear(yy, r, w), pp, n_boot, seed)
    out["rd_local_linear"] = {"relative_risk": _r(est), "lo": _r(llo), "hi": _r(lhi),
                              "note": "risk just above over just below the cut, local-linear "
                                      "in rank on each side (triangular kernel), no model; "
                                      "wider interval"}
    # other bandwidths (half and double)
    for bw in (bandwidth / 2, bandwidth * 2):
        reg = cutoff.region(rank, n_picks, bw)
        sel = np.flatnonzero(reg)
        yb, mb, tb, pb = y[sel], mu[sel], picked[sel], people[sel]
        est = cutoff.oe_ratio(yb, mb, tb, np.ones(len(yb)))
        blo, bhi, _ = cutoff.bootstrap(lambda w, yb=yb, mb=mb, tb=tb: cutoff.oe_ratio(
            yb, mb, tb, w), pb, max(n_boot // 2, 50), seed)
        out[f"bandwidth_{bw:g}"] = {"relative_risk": _r(est), "lo": _r(blo), "hi": _r(bhi),
                                    "n_managed": int(tb.sum()), "n_comparison": int((~tb).sum())}
    return out


def _r(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(round(x, 4))


def _balance(snap, mu, t_rows, c_rows, picked) -> dict:
    """|SMD| of the key scores: managed vs all unpicked (before) and vs the comparison (after)."""
    out = {}
    cols = {"expected_harm": mu}
    for c in KEY_COVARIATES:
        if c in snap:
            cols[c] = snap[c].to_numpy(dtype=float)
    for name, v in cols.items():
        out[name] = {"before": _r(matching.smd(v[picked], v[~picked])),
                     "after": _r(matching.smd(v[t_rows], v[c_rows]))}
    return out


def _warnings(yy, tt, counts, n_in_pop, later, balance, rr, lo, hi, agree, rule_name,
              checks) -> list[str]:
    out = ["Observational estimate: see assumptions for what would bias it."]
    ev_t, ev_c = int(yy[tt].sum()), int(yy[~tt].sum())
    if ev_t < 20 or ev_c < 20:
        out.append(f"Few outcome events (managed {ev_t}, comparison {ev_c}): the interval is "
                   "wide and the bootstrap approximate.")
    if counts["window_not_complete"]:
        out.append(f"{counts['window_not_complete']} starts whose outcome window is not complete "
                   "by the extract date were left out.")
    a = agree.get(rule_name, 0.0)
    if a < 0.7:
        out.append(f"No ranking the engine can rebuild reproduces the team's picks well (best: "
                   f"{rule_name}, {a:.0%} of picks in its top n): the team chose on something "
                   "the extract does not hold, which can bias the estimate either way.")
    if n_in_pop and counts["picked_outside_region"] / n_in_pop > 0.1:
        out.append(f"{counts['picked_outside_region']} of {n_in_pop} managed people ranked below "
                   "the compared region by the selection score and were left out.")
    if counts.get("not_in_scored_population"):
        out.append(f"{counts['not_in_scored_population']} managed people were not in the scored "
                   "population at the month start and were left out.")
    share = float(np.mean(later)) if len(later) else 0.0
    if share > 0.2:
        out.append(f"{share:.0%} of the comparison were themselves managed later in their "
                   "window: a real effect is diluted towards 1 (never created).")
    fake = checks["fake_cutoff"]
    if fake["lo"] is not None and not (fake["lo"] <= 1 <= fake["hi"]):
        out.append(f"Falsification check failed: at a fake cut-off among unpicked people the "
                   f"same estimate gives {fake['relative_risk']:.2f} ({fake['lo']:.2f}-"
                   f"{fake['hi']:.2f}), not 1: the adjustment does not capture how risk falls "
                   "with rank; treat the estimate as biased.")
    bad = [k for k, v in balance.items() if v["after"] is not None and abs(v["after"]) > 0.25]
    if bad:
        out.append("Managed and comparison differ (|SMD| > 0.25) on: " + ", ".join(bad)
                   + " (the prognostic adjustment is meant to absorb this).")
    if np.isfinite(lo) and lo <= 1 <= hi:
        out.append("The interval includes 1: no effect is demonstrated.")
    return out
