"""``estimate_impact``: relative risk of serious harm, managed vs comparable unmanaged people.

Why this design (and not the obvious one): the people a team manages are the riskiest people it
can see, so comparing them with everyone else makes any management look harmful. A team that
manages "its top K" cuts a ranking, so the comparable people are the ones just below its cut:
each month, the people the team newly picked against the people it could have picked and did
not, ranked next to them by the same ranking (``selection``: the incumbent's score, a rule
score, or a ranking learned from the picks, whichever reproduces the month's picks best). The
primary estimate uses the *sharp* months, where that ranking reproduces most picks (``months``:
elsewhere something the extract does not hold decided who crossed the cut). Inside that
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
from riskcohort.impact import months as month_rule

logger = logging.getLogger(__name__)

N_BOOT = cutoff.N_BOOT
BANDWIDTH = 1.0  #: ranks below the cut compared, as a multiple of the month's picks (symmetric)
#: default of ``recalibrate``: None = on for sharp months (no unpicked person above the cut, so
#: the expected harm of the picks must be extrapolated along the ranking), off for all months
#: (measured less biased there on twin forces, docs/impact.md)
RECALIBRATE: bool | None = None
MONTHS = "sharp"  #: default of ``months``: the sharp months, else all (``months`` module)
RECALIBRATION_REGION = 20  #: the recalibration learns from unpicked ranks <= 20 x picks
KEY_COVARIATES = ("incumbent", "iteration_2", "matac_rfgv", "v100_harm", "dash_dara",
                  "da_count_365d", "harm_365d", "days_since_last_da")
METHOD = (
    "cut-off comparison (regression discontinuity design, local form) with prognostic "
    "adjustment: each month, the people not under management are ranked by the selection "
    "score (chosen month by month: the team's ranking when a candidate reproduces its picks, "
    "otherwise a ranking learned out-of-fold from the picks; see 'selection'); the primary "
    "estimate uses the sharp months, whose ranking holds at least {share:.0%} of their picks, "
    "when they hold at least {min} managed people (otherwise all months; see 'months_used'); "
    "the month's new management starts "
    "are compared with the unpicked people in the top (1 + {bw:g}) x picks ranks, i.e. as many "
    "ranks below the cut as there are picks above it; outcome: serious domestic harm "
    "perpetrated within {days} days of the start (the median management length, {typ} days, "
    "plus 12 months), the same fixed window for everyone; relative risk = observed/expected "
    "among the managed over observed/expected among the comparison, expected harm from an "
    "out-of-fold prognostic model fitted on every person not picked in the months used; 95% "
    "interval from a bootstrap clustered by person, widened to the exact Poisson interval for "
    "the event counts when that is wider. Checks reported beside it: the same "
    "estimate at a fake cut-off among unpicked people (must cover 1), a local-linear "
    "regression discontinuity on rank without the model, other bandwidths, and the "
    "estimate on all months."
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
    "Sharp months only (the default): months whose picks the ranking reproduces poorly (a "
    "fuzzy design, where something the extract does not hold decided who crossed the cut) are "
    "left out of the primary estimate. Which months are kept depends on who was picked and on "
    "the rankings, never on outcomes, so the restriction cannot manufacture an effect; it "
    "makes the estimate about the months in which the team's choice can be reproduced (the "
    "all-months estimate is in checks.all_months).",
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


def _contrast(keep: np.ndarray, reg: np.ndarray, picked: np.ndarray, y: np.ndarray,
              mu: np.ndarray, people: np.ndarray, n_boot: int, seed: int) -> dict:
    """The cut-off comparison on the rows of ``keep`` (a set of months): the picks in the
    region against the unpicked in it, observed/expected ratio, interval, counts."""
    t_rows = np.flatnonzero(keep & reg & picked)
    c_rows = np.flatnonzero(keep & reg & ~picked)
    out: dict[str, Any] = {"t_rows": t_rows, "c_rows": c_rows, "ok": False,
                           "rr": float("nan"), "lo": float("nan"), "hi": float("nan"),
                           "n_ok": 0}
    if len(t_rows) == 0 or len(c_rows) == 0:
        return out
    rows = np.concatenate([t_rows, c_rows])
    yy, mm, tt, pp = y[rows], mu[rows], picked[rows], people[rows]
    rr = cutoff.oe_ratio(yy, mm, tt, np.ones(len(rows)))
    lo, hi, n_ok = cutoff.bootstrap(lambda w: cutoff.oe_ratio(yy, mm, tt, w), pp, n_boot, seed)
    # never narrower than the exact interval for the event counts (a bootstrap degenerates
    # with few events and ignores nothing else; the wider of the two is reported)
    elo, ehi = cutoff.exact_interval(yy, mm, tt)
    lo, hi = min(lo, elo), max(hi, ehi)
    out.update(rows=rows, yy=yy, mm=mm, tt=tt, rr=rr, lo=lo, hi=hi, n_ok=n_ok,
               ok=bool(np.isfinite(rr) and np.isfinite(lo) and np.isfinite(hi)))
    return out


def _summary(c: dict, people: np.ndarray, months: list[str]) -> dict:
    """The JSON-ready figures of one contrast (``checks.all_months``)."""
    tt = c.get("tt", np.zeros(0, bool))
    yy = c.get("yy", np.zeros(0))
    return {"relative_risk": _r(c["rr"]), "lo": _r(c["lo"]), "hi": _r(c["hi"]),
            "n_managed": int(len(c["t_rows"])),
            "n_comparison": int(len(np.unique(people[c["c_rows"]]))),
            "events_managed": int(yy[tt].sum()), "events_comparison": int(yy[~tt].sum()),
            "months": len(months)}


def _setup(ds, kind: str, lo_d: pd.Timestamp, hi_d: pd.Timestamp) -> dict:
    """Units, the month snapshot of candidates, who was picked, and the outcome of every row."""
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
    counts["not_in_scored_population"] = int(len(units) - int(picked.sum()))
    windows = _windows(snap, picked, units, horizon)
    y = design.outcomes(windows, design.serious_events(ds.tables["incidents"]))
    return {"periods": periods, "extract_end": extract_end, "typical": typical,
            "horizon": horizon, "counts": counts, "months": months, "snap": snap,
            "picked": picked, "windows": windows, "y": y}


def estimate_impact(data: Any, date_from: str | dt.date, date_to: str | dt.date, *,
                    kind: str = "dapst_managed", seed: int = 0, n_boot: int = N_BOOT,
                    rule: str = "auto", bandwidth: float = BANDWIDTH,
                    recalibrate: bool | None = RECALIBRATE, months: str = MONTHS) -> dict:
    """Relative risk of serious harm for management starts in [date_from, date_to].

    ``data``: a dataset folder or a loaded ``Dataset``. ``rule``: the ranking the team cut
    (``auto`` = per month, the candidate that reproduces the month's picks best; ``incumbent``,
    a rule score or ``learned`` to force one). ``months``: ``sharp`` (default) = the primary
    estimate uses the months whose ranking holds at least ``months.SHARP_AGREEMENT`` of their
    picks, when they hold ``months.MIN_SHARP_MANAGED`` managed people (otherwise all months,
    with a warning); ``all`` = every month. ``recalibrate``: re-fit the prognostic model's
    predictions along the selection score near the cut (``None``: on for the sharp months,
    off for all months; see ``RECALIBRATE``). Returns the
    JSON-ready result (keys ``relative_risk, lo, hi, n_managed, n_comparison, method,
    assumptions, warnings`` and details; the all-months estimate is ``checks.all_months``). A
    user mistake (no interventions, unknown kind, no complete window) is a ``UserError``.
    """
    lo_d, hi_d = pd.Timestamp(date_from), pd.Timestamp(date_to)
    if hi_d < lo_d:
        raise UserError(f"options --from/--to: rule date_order: --from {lo_d.date()} is after "
                        f"--to {hi_d.date()}")
    if months not in month_rule.MODES:
        raise UserError(f"option --months: rule months_mode: {months!r} is not one of "
                        f"{', '.join(month_rule.MODES)}")
    s = _setup(_dataset(data), kind, lo_d, hi_d)
    snap, picked, y, counts = s["snap"], s["picked"], s["y"], s["counts"]
    month = snap["as_of"].to_numpy()
    people = snap["person_id"].to_numpy()
    x = snap.drop(columns=["person_id", "as_of"]).select_dtypes("number")
    x = x.assign(month_index=snap["as_of"].rank(method="dense").to_numpy())

    rank, z, agree, by_month = selection.choose(snap, x, picked, month, people, seed=seed,
                                             rule=rule)
    n_picks = pd.Series(picked.astype(int)).groupby(month).transform("sum").to_numpy()

    reg = cutoff.region(rank, n_picks, bandwidth)
    all_months = [m["month"] for m in by_month]
    every = np.ones(len(y), dtype=bool)
    mu0_all = _prognostic(x, y, picked, every, people, seed)
    exp_all = _recalibrated(mu0_all, y, picked, every, rank, n_picks, z, bool(recalibrate))
    all_c = _contrast(every, reg, picked, y, exp_all[0], people, n_boot, seed)
    if len(all_c["t_rows"]) == 0 or len(all_c["c_rows"]) == 0:
        raise UserError("file interventions: rule impact_no_comparison: no month has unpicked "
                        "people next to the team's picks in the ranking; a comparison at the "
                        "cut-off is impossible")
    sharp = month_rule.sharp_months(by_month)
    sharp_rows = month_rule.rows_in(month, sharp)
    sharp_managed = int((sharp_rows & reg & picked).sum())
    nobody = np.zeros(len(y), dtype=bool)  # no sharp contrast unless the branch below runs
    exp_sharp, sharp_c = exp_all, _contrast(nobody, reg, picked, y, exp_all[0], people, n_boot,
                                            seed)
    if months == "sharp" and sharp and sharp_managed >= month_rule.MIN_SHARP_MANAGED:
        # the model of harm without management is learned in the sharp months only: in a
        # fuzzy month the unpicked near the top are the people hidden information passed over,
        # so their outcomes would teach it the wrong risk for the people at the cut
        mu0 = mu0_all if len(sharp) == len(all_months) else _prognostic(
            x, y, picked, sharp_rows, people, seed)
        exp_sharp = _recalibrated(mu0, y, picked, sharp_rows, rank, n_picks, z,
                                  recalibrate is None or recalibrate)
        sharp_c = _contrast(sharp_rows, reg, picked, y, exp_sharp[0], people, n_boot, seed)
    used, fallback = month_rule.decide(months, by_month, sharp_managed, sharp_c["ok"])
    keep, c, kept, (mu, recal) = (sharp_rows, sharp_c, sharp, exp_sharp) if used == "sharp" \
        else (every, all_c, all_months, exp_all)
    if not c["ok"]:
        yy, tt = c.get("yy", np.zeros(0)), c.get("tt", np.zeros(0, bool))
        raise UserError(f"file interventions: rule impact_too_few_events: {int(yy[tt].sum())} "
                        f"serious-harm events among {len(c['t_rows'])} managed and "
                        f"{int(yy[~tt].sum())} among {len(c['c_rows'])} comparison people: no "
                        "relative risk or interval can be estimated; use a longer --from/--to")
    t_rows, c_rows, rows = c["t_rows"], c["c_rows"], c["rows"]
    yy, mm, tt = c["yy"], c["mm"], c["tt"]
    n_in_pop = int((picked & keep).sum())
    counts["picked_outside_region"] = int(n_in_pop - len(t_rows))

    checks = _checks(y, mu, picked & keep, rank, n_picks, people, bandwidth, rows, n_boot,
                     seed, keep)
    checks["all_months"] = {**_summary(all_c, people, all_months),
                            "note": "the same estimate on every month, sharp or not (the "
                                    "primary estimate when --months all or when too few "
                                    "sharp months)"}
    naive_all = float(np.mean(y[keep & ~picked]))
    naive = float(np.mean(yy[tt])) / naive_all if naive_all > 0 else float("nan")
    later = design.managed_within(s["windows"].iloc[c_rows].reset_index(drop=True),
                                  s["periods"])
    balance = _balance(snap, mu, t_rows, c_rows, picked & keep, keep)
    for m in by_month:
        m["sharp"] = m["month"] in set(sharp)
    name = selection.label([m for m in by_month if m["month"] in set(kept)])
    agree_used = month_rule.pooled_agreement(by_month, kept)
    warnings = _warnings(yy, tt, counts, n_in_pop, later, balance, c["rr"], c["lo"], c["hi"],
                         agree_used, name, checks, fallback)
    result = {
        "relative_risk": _r(c["rr"]), "lo": _r(c["lo"]), "hi": _r(c["hi"]),
        "n_managed": int(len(t_rows)),
        "n_comparison": int(len(np.unique(people[c_rows]))),
        "method": METHOD.format(bw=bandwidth, days=s["horizon"], typ=s["typical"],
                                share=month_rule.SHARP_AGREEMENT,
                                min=month_rule.MIN_SHARP_MANAGED),
        "assumptions": ASSUMPTIONS,
        "warnings": warnings,
        "kind": kind, "from": str(lo_d.date()), "to": str(hi_d.date()),
        "extract_end": str(s["extract_end"].date()),
        "outcome": f"serious domestic harm perpetrated within {s['horizon']} days of the start "
                   f"(median management length {s['typical']} days + {design.AFTER_DAYS})",
        "window_days": s["horizon"],
        "selection": {"score": name, "agreement": agree, "agreement_used": _r(agree_used),
                      "by_month": by_month,
                      "note": "agreement: share of the team's picks that a ranking's "
                              "within-month top n holds (n = the month's new starts), pooled "
                              "over all months for every candidate; by_month: the ranking "
                              "chosen in each month (the highest there) and its agreement"},
        "months_used": {"requested": months, "used": used, "kept": kept,
                        "left_out": [m for m in all_months if m not in set(kept)],
                        "sharp_agreement": month_rule.SHARP_AGREEMENT,
                        "min_sharp_managed": month_rule.MIN_SHARP_MANAGED,
                        "sharp_months_managed": sharp_managed,
                        "prognostic_model_fitted_on": "the unpicked people of the kept months",
                        "fallback": fallback},
        "bandwidth": bandwidth,
        "prognostic_recalibration": recal,
        "risk_managed": _r(float(np.mean(yy[tt]))),
        "risk_comparison": _r(float(np.mean(yy[~tt]))),
        "expected_managed": _r(float(np.mean(mm[tt]))),
        "expected_comparison": _r(float(np.mean(mm[~tt]))),
        "relative_risk_unadjusted": _r(_ratio(yy, tt, np.ones(len(rows)))),
        "events_managed": int(yy[tt].sum()), "events_comparison": int(yy[~tt].sum()),
        "n_comparison_rows": int(len(c_rows)),
        "comparison_managed_later_share": _r(float(np.mean(later)) if len(later) else 0.0),
        "management_starts": {k: int(v) for k, v in counts.items()},
        "months": all_months,
        "balance_smd": balance,
        "bootstrap": {"replicates": c["n_ok"], "clustered_by": "person", "seed": seed},
        "checks": checks,
        "naive_contrast": {
            "relative_risk": _r(naive),
            "label": "NOT the estimate: managed vs every unmanaged person of the same months "
                     "(who are lower-risk to begin with); shown only to say how far the "
                     "comparison moves it",
        },
    }
    logger.info("impact %s: RR %.3f (%.3f-%.3f), %d managed, months %s", kind, c["rr"],
                c["lo"], c["hi"], len(t_rows), used)
    return result


def _prognostic(x, y, picked, fit, people, seed) -> np.ndarray:
    """Expected harm without management for every row: an out-of-fold model learned on the
    unpicked rows of ``fit`` (a set of months)."""
    return np.clip(matching.prognostic(x, y, fit & ~picked, people, seed=seed), cutoff.FLOOR,
                   None)


def _recalibrated(mu0, y, picked, fit, rank, n_picks, z, recalibrate
                  ) -> tuple[np.ndarray, dict]:
    """``mu0``, or (``recalibrate``) re-fitted on the unpicked rows of ``fit`` near the cut
    along the selection score standardised in its month, and so extrapolated along it above
    the cut."""
    if not recalibrate:
        return mu0, {"applied": False, "reason": "off"}
    near = fit & ~picked & cutoff.region(rank, n_picks, RECALIBRATION_REGION - 1)
    mu, recal = matching.recalibrate(mu0, z, y, near)
    return np.clip(mu, cutoff.FLOOR, None), recal


def _checks(y, mu, picked, rank, n_picks, people, bandwidth, rows, n_boot, seed,
            keep) -> dict:
    """Falsification and sensitivity on the months of ``keep``: a fake cut-off, a model-free
    RD, other bandwidths."""
    out: dict[str, Any] = {}
    # fake cut-off: the next 2 x bandwidth x picks unpicked ranks below the region, split in two
    below = keep & ~picked & ~cutoff.region(rank, n_picks, bandwidth) \
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
        sel = np.flatnonzero(reg & keep)
        yb, mb, tb, pb = y[sel], mu[sel], picked[sel], people[sel]
        est = cutoff.oe_ratio(yb, mb, tb, np.ones(len(yb)))
        blo, bhi, _ = cutoff.bootstrap(lambda w, yb=yb, mb=mb, tb=tb: cutoff.oe_ratio(
            yb, mb, tb, w), pb, max(n_boot // 2, 50), seed)
        out[f"bandwidth_{bw:g}"] = {"relative_risk": _r(est), "lo": _r(blo), "hi": _r(bhi),
                                    "n_managed": int(tb.sum()), "n_comparison": int((~tb).sum())}
    return out


def _r(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(round(x, 4))


def _balance(snap, mu, t_rows, c_rows, picked, keep) -> dict:
    """|SMD| of the key scores: managed vs all unpicked (before) and vs the comparison (after),
    on the months of ``keep``."""
    out = {}
    cols = {"expected_harm": mu}
    for c in KEY_COVARIATES:
        if c in snap:
            cols[c] = snap[c].to_numpy(dtype=float)
    for name, v in cols.items():
        out[name] = {"before": _r(matching.smd(v[picked & keep], v[~picked & keep])),
                     "after": _r(matching.smd(v[t_rows], v[c_rows]))}
    return out


def _warnings(yy, tt, counts, n_in_pop, later, balance, rr, lo, hi, agree, rule_name,
              checks, fallback) -> list[str]:
    out = ["Observational estimate: see assumptions for what would bias it."]
    if fallback:
        out.append(f"All months are used, sharp or not, because {fallback}: where the team's "
                   "picks only partly follow the ranking, the people who crossed the cut were "
                   "moved by something the extract does not hold, which can bias the estimate "
                   "either way.")
    ev_t, ev_c = int(yy[tt].sum()), int(yy[~tt].sum())
    if ev_t < 20 or ev_c < 20:
        out.append(f"Few outcome events (managed {ev_t}, comparison {ev_c}): the interval is "
                   "wide and the bootstrap approximate.")
    if counts["window_not_complete"]:
        out.append(f"{counts['window_not_complete']} starts whose outcome window is not complete "
                   "by the extract date were left out.")
    if agree < 0.7:
        out.append(f"No ranking the engine can rebuild reproduces the team's picks well (best: "
                   f"{rule_name}, {agree:.0%} of the picks of the months used in its top n): "
                   "the team chose on something the extract does not hold, which can bias the "
                   "estimate either way.")
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
