"""The impact estimate (``riskcohort impact`` JSON) in words, for the governance pack (issue 17.6).

Why a module of its own: the estimate now depends on two choices a board member must be able to
see and judge, not only on its number. Which months it uses (only the *sharp* months, where a
ranking the engine can rebuild decided who the team picked, or all months, and then why) and
which ranking(s) stood in for the team's unrecorded rule, with how much of the team's picks they
reproduce. Every figure here is read from the JSON and formatted with the section's rules
(relative risks to 2 decimals, shares as percentages to 1 decimal, counts with thousands
separators), so the pack and the JSON cannot disagree; the sentences are built in Python, not
in the template, so an older JSON without these keys still renders (and says less).
"""

from __future__ import annotations

import pandas as pd

from riskcohort import display

#: ranking key (``selection.by_month[].ranking``) -> name inside a sentence
RANKINGS = {
    "incumbent": "the incumbent system's score",
    "learned": "the learned ranking",
    "iteration_2": "the incident-count rule",
    "matac_rfgv": "the MATAC RFGV score",
    "v100_harm": "the V100 harm score",
    "dash_dara": "the DASH/DARA grade",
}
LEARNED_NOTE = ("The learned ranking is a model of whom the team picked, built from the "
                "indicators and scores the engine can rebuild; it is used in a month only when "
                "it reproduces clearly more of the picks than every named score.")
KINDS = {"dapst_managed": "active management by the perpetrator team (DAPST)"}  #: by kind
HIDDEN = ("something the data does not hold (officer judgement, intelligence, or history from "
          "before the extract) also decided who was managed")
FALLBACK_WARNING = "All months are used, sharp or not"  #: the JSON warning the months text says
LIST_MAX = 6  #: months named in a sentence; beyond this the table below lists them


def rr(x) -> str:
    """A relative risk or bound as the section shows it (2 decimals)."""
    return "not computable" if x is None else f"{float(x):.2f}"


def share(x) -> str:
    """A share of picks as the section shows rates (percent, 1 decimal)."""
    return display.percent(x, digits=1)


def threshold(x) -> str:
    """The sharp-month threshold, a rule's constant ('80%'), not a measured share."""
    return f"{100 * float(x):g}%"


def count(n) -> str:
    return display.number(n)


def month(iso: str) -> str:
    """'Oct 2021' for a month start '2021-10-01'."""
    return pd.Timestamp(iso).strftime("%b %Y")


def ranking(key: str) -> str:
    return RANKINGS.get(key, f"the {display.system_name(key)} ranking")


def _months(isos: list[str]) -> str:
    """The months named (up to ``LIST_MAX``), else the first and the last (they need not be
    consecutive; the table lists each)."""
    if len(isos) <= LIST_MAX:
        return display.and_list([month(m) for m in isos])
    return f"between {month(isos[0])} and {month(isos[-1])}; each is in the table below"


def _n_months(n: int) -> str:
    return display.count(n, "month")


def estimate_text(im: dict) -> str:
    """The headline: the relative risk, its interval, its counts and what the interval says."""
    kind = im.get("kind", "")
    what = KINDS.get(kind, kind)
    out = im.get("outcome") or "serious harm during management and the 12 months after"
    text = (f"For {what}, intervention kind {kind}, started from {im.get('from')} to "
            f"{im.get('to')}. Relative risk of {out}, against comparable unmanaged people: "
            f"{rr(im['relative_risk'])} (95% interval {rr(im['lo'])} to {rr(im['hi'])}); "
            f"{count(im['n_managed'])} managed, {count(im['n_comparison'])} comparison people. ")
    lo, hi = im["lo"], im["hi"]
    if lo is None or hi is None or lo <= 1 <= hi:
        text += "The interval includes 1: no effect is demonstrated."
    elif hi < 1:
        text += ("The interval lies below 1: managed people went on to serious harm less often "
                 "than comparable unmanaged people.")
    else:
        text += ("The interval lies above 1: managed people went on to serious harm more often "
                 "than comparable unmanaged people.")
    return text + " This is an observational estimate, not a trial."


def comparison_text(im: dict) -> str | None:
    """Who was compared with whom, and the built-in falsification check."""
    fc = (im.get("checks") or {}).get("fake_cutoff")
    if not im.get("selection") or not fc:
        return None
    fake = "not computable" if fc.get("lo") is None else \
        f"{rr(fc['relative_risk'])} ({rr(fc['lo'])} to {rr(fc['hi'])})"
    return ("Each month, the team's new picks are compared with the people ranked just below "
            "its cut-off who were not picked, on the ranking described below. Falsification "
            "check (the same estimate at a fake cut-off among people nobody picked, which should "
            f"include 1): {fake}.")


def _rankings_used(by_month: list[dict], kept: set[str]) -> list[tuple[str, int]]:
    """(ranking, months) over the months used, most months first (as ``selection.score``)."""
    used = pd.Series([m["ranking"] for m in by_month if m["month"] in kept])
    return [(str(k), int(v)) for k, v in used.value_counts().items()]


def ranking_text(im: dict) -> str | None:
    """Which ranking(s) stood in for the team's rule in the months used, and how much of the
    team's picks they reproduce there (``selection.agreement_used``)."""
    sel = im.get("selection") or {}
    by, used = sel.get("by_month"), im.get("months_used")
    if not by or not used:
        return None
    counts = _rankings_used(by, set(used["kept"]))
    if len(counts) == 1:
        which = f"{ranking(counts[0][0])} in all {_n_months(counts[0][1])}"
        together = "It holds"
    else:
        which = display.and_list([f"{ranking(k)} in {_n_months(n)}" for k, n in counts])
        together = "Together they hold"
    text = ("The team's selection rule is not recorded, so in each month the engine uses the "
            "ranking, among those it can rebuild from the data, whose top places hold the most "
            f"of that month's new picks. In the months used this is {which}. {together} "
            f"{share(sel.get('agreement_used'))} of the team's picks in those months (the share "
            "of a month's picks found in the ranking's top places, as many places as the team "
            "picked people; 100% means the team followed the ranking exactly).")
    if any(k == "learned" for k, _ in counts):
        text += " " + LEARNED_NOTE
    return text


def _fallback_reason(used: dict, sharp: list[str]) -> str:
    """Why all months had to be used, in words, from the JSON's own figures."""
    reason = used.get("fallback") or ""
    if not sharp:
        return (f"in no month does the ranking hold {threshold(used['sharp_agreement'])} of "
                "the picks")
    if "minimum" in reason:
        verb = "holds" if len(sharp) == 1 else "hold"
        return (f"the {_n_months(len(sharp))} where it does ({_months(sharp)}) {verb} only "
                f"{count(used['sharp_months_managed'])} managed people next to the cut-off, "
                f"fewer than the {count(used['min_sharp_managed'])} needed for an interval "
                "that can say anything")
    if "events" in reason:
        return (f"the {_n_months(len(sharp))} where it does ({_months(sharp)}) had too few "
                "serious-harm events for an estimate and its interval")
    return reason


def months_text(im: dict) -> str | None:
    """Which months the estimate uses and why: sharp months kept, or all months (asked for, or
    fallen back to, with the reason)."""
    used = im.get("months_used")
    by = (im.get("selection") or {}).get("by_month")
    if not used or not by:
        return None
    cut = threshold(used["sharp_agreement"])
    every = [m["month"] for m in by]
    sharp = [m["month"] for m in by if m["agreement"] >= used["sharp_agreement"]]
    fuzzy = [m for m in by if m["month"] not in set(sharp)]
    span = share(min(m["agreement"] for m in fuzzy)) + " to " + \
        share(max(m["agreement"] for m in fuzzy)) if fuzzy else ""
    decided = ("the cut-off decided who was managed, so people just above and just below it "
               "differ mainly in being managed")
    if used["used"] == "sharp" and not used["left_out"]:
        return (f"The estimate uses all {_n_months(len(every))} ({_months(every)}): in each, the "
                f"ranking holds at least {cut} of the team's picks, so {decided}.")
    if used["used"] == "sharp":
        out = used["left_out"]
        return (f"The estimate uses the {len(used['kept'])} of {_n_months(len(every))} in which "
                f"the ranking holds at least {cut} of the team's picks ({_months(used['kept'])}): "
                f"in these months {decided}. The other {len(out)} ({_months(out)}) are left "
                f"out: there the ranking holds only {span} of the picks, so {HIDDEN}, and a "
                "comparison would carry that hidden choice. Which months are kept depends "
                "only on who was picked, never on anyone's outcome.")
    if used.get("fallback"):
        some = (f", including {len(fuzzy)} in which the ranking holds fewer than {cut} of the "
                f"team's picks ({span})") if fuzzy else ""
        return (f"The estimate uses all {_n_months(len(every))}{some}. The engine prefers the "
                f"months in which the ranking holds at least {cut} of the picks (there the "
                f"cut-off decided who was managed), but {_fallback_reason(used, sharp)}. Where "
                f"the picks only partly follow the ranking, {HIDDEN}, which can bias the "
                "estimate either way: read it with more caution than an estimate on sharp "
                "months.")
    text = f"The estimate uses all {_n_months(len(every))}, as requested (--months all)."
    if fuzzy:
        text += (f" In {len(fuzzy)} of them the ranking holds fewer than {cut} of the team's "
                 f"picks ({span}): there {HIDDEN}, which can bias the estimate either way.")
    return text


def month_rows(im: dict) -> list[dict]:
    """One row per month: picks, the ranking used, its share of the picks, whether used."""
    by = (im.get("selection") or {}).get("by_month") or []
    used = im.get("months_used") or {}
    kept = set(used.get("kept", [m["month"] for m in by]))
    cut = used.get("sharp_agreement")
    rows = []
    for m in by:
        below = f"below {threshold(cut)}" if cut is not None and m["agreement"] < cut else ""
        status = ("yes" + (f" ({below})" if below else "")) if m["month"] in kept \
            else f"left out ({below or 'not used'})"
        name = ranking(m["ranking"]).removeprefix("the ")
        rows.append({"month": month(m["month"]), "picks": count(m["n_picks"]),
                     "ranking": name[:1].upper() + name[1:],
                     "agreement": share(m["agreement"]), "status": status})
    return rows


def compare_rows(im: dict) -> list[dict] | None:
    """The primary estimate beside the all-months one (``checks.all_months``) when they differ
    (the sharp months were used and some months were left out)."""
    every = (im.get("checks") or {}).get("all_months")
    used = im.get("months_used") or {}
    if not every or used.get("used") != "sharp" or not used.get("left_out"):
        return None

    def row(label, r, n_months):
        return {"label": label, "months": count(n_months), "managed": count(r["n_managed"]),
                "comparison": count(r["n_comparison"]),
                "events": f"{count(r['events_managed'])} / {count(r['events_comparison'])}",
                "rr": rr(r["relative_risk"]), "interval": f"{rr(r['lo'])} to {rr(r['hi'])}"}

    return [row("The estimate (sharp months only)", im, len(used["kept"])),
            row("Check: every month, sharp or not", every, every["months"])]


def warnings(im: dict) -> list[str]:
    """The JSON's warnings the section does not already say (the first is the generic
    'observational'; the fallback one is the months text)."""
    return [w for w in (im.get("warnings") or [])[1:] if not w.startswith(FALLBACK_WARNING)
            or not im.get("months_used")]


def view(im: dict | None) -> dict | None:
    """Everything the template shows of the estimate, as plain strings and rows."""
    if im is None:
        return None
    return {"estimate": estimate_text(im), "comparison": comparison_text(im),
            "months": months_text(im), "ranking": ranking_text(im), "by_month": month_rows(im),
            "compare": compare_rows(im), "assumptions": list(im.get("assumptions") or []),
            "warnings": warnings(im)}
