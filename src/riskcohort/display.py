"""What people read: display names and number formatting, in one place.

Why one module: a board member, an officer and a data scientist must see the same name for the
same thing (``roc_auc`` is "AUC (ranking quality)" in the pack, the app and the CLI) and numbers
written the same way ("4.0%", "2,531 people", "no homicides"). Internal keys (metric names in
``metrics.json``, baseline columns, indicator columns, band keys) never reach a reader directly.

Layering: this module sits below every stage and imports none at module level. Indicator names
come from the features catalogue (package data), read lazily on first use; when it cannot be
read, the key is shown in words ("days since last da") rather than hidden.

>>> metric_name("roc_auc"), metric_name("recall@100"), metric_name("harm_at_50")
('AUC (ranking quality)', 'Recall in the top 100', 'Share of harm in the top 50')
>>> system_name("dash_dara"), system_name("iteration_2")
('DASH/DARA grade', 'Incident-count rule (earlier rule)')
>>> percent(0.0395), percent(0.52), percent(0.00012), percent(None), percent(0.000999)
('4.0%', '52%', '0.012%', 'not available', '0.10%')
>>> count(0, "homicide"), count(1, "homicide"), count(2531, "person", "people")
('no homicides', '1 homicide', '2,531 people')
>>> share_text(100, 2531)
'top 100 (4.0% of 2,531 scored)'
>>> number(1.62e-07), number(12345.6), number(0.12345)
('< 0.0001', '12,346', '0.123')
>>> natural_order(["65 and over", "25-34", "under 25", "unknown", "45-54"])
['under 25', '25-34', '45-54', '65 and over', 'unknown']
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache

NOT_AVAILABLE = "not available"

#: metric key (as in metrics.json, without "@k") -> (name, what it means in one line)
METRICS: dict[str, tuple[str, str]] = {
    "roc_auc": ("AUC (ranking quality)",
                "chance that a person who went on to cause serious harm is ranked above one who "
                "did not (0.5 = chance, 1 = perfect)"),
    "pr_auc": ("Average precision",
               "precision averaged over every cut-off (rewards putting serious harm at the very "
               "top; compare with the base rate)"),
    "recall": ("Recall in the top {k}",
               "share of everyone who went on to cause serious harm who is in the top {k}"),
    "precision": ("Precision in the top {k}",
                  "share of the top {k} who went on to cause serious harm"),
    "harm": ("Share of harm in the top {k}",
             "share of all crime-harm (days of imprisonment equivalent) caused by the top {k}"),
    "homicides": ("Homicides in the top {k}",
                  "people in the top {k} who went on to commit homicide"),
    "top_share_recall": ("Recall in the top 1%",
                         "share of serious harm caught by the top 1% of people scored"),
    "brier": ("Brier score (lower is better)",
              "mean squared difference between the probability and what happened"),
    "ece": ("Calibration error (ECE)",
            "average gap between predicted and observed rates over score bins, in probability "
            "points (lower is better)"),
    "calibration_slope": ("Calibration slope (1 = ideal)",
                          "below 1: scores too spread out; above 1: too compressed"),
    "calibration_intercept": ("Calibration intercept (0 = ideal)",
                              "above 0: scores too low overall; below 0: too high"),
    "observed_expected": ("Observed / expected serious harm (1 = ideal)",
                          "people who went on to cause serious harm divided by the number the "
                          "scores predicted"),
}

#: ranking key (evaluation.parquet column, metrics.json system) -> display name
SYSTEMS: dict[str, str] = {
    "model": "This model",
    "dash_dara": "DASH/DARA grade",
    "matac_rfgv": "MATAC RFGV",
    "v100_harm": "V100 harm (crime-harm, last year)",
    "iteration_2": "Incident-count rule (earlier rule)",
    "incumbent": "Incumbent",
    "ilas": "Incumbent ILAS",
    "oracle": "Oracle (true risk, synthetic data only)",
}

#: one-line description of each ranking, for a legend or a footnote
SYSTEM_NOTES: dict[str, str] = {
    "model": "the ranking this pack is about",
    "dash_dara": "any high DASH/DARA grade in the last 12 months, then the most recent grade",
    "matac_rfgv": "MATAC recency, frequency, gravity and victims, each banded 0-5",
    "v100_harm": "Met V100 style: crime-harm caused in the last 365 days",
    "iteration_2": "domestic incidents in the last 365 days, ties by the last 3 years (the rule "
                   "the earlier iteration used; not a model run)",
    "incumbent": "the force's current external system, where it had a score",
    "oracle": "the simulator's true risk: the best any ranking could do (synthetic data only)",
}

#: band key -> display name; ``BAND_ORDER`` highest first
BANDS: dict[str, str] = {"high": "High", "elevated": "Elevated", "moderate": "Moderate",
                         "low": "Low"}
BAND_ORDER = ("high", "elevated", "moderate", "low")

#: protected attributes and other categories whose values have a natural order
CATEGORY_ORDER: dict[str, tuple[str, ...]] = {
    "age_band": ("under 25", "25-34", "35-44", "45-54", "55-64", "65 and over"),
    "band": BAND_ORDER,
    "sex": ("male", "female"),
}
ATTRIBUTES: dict[str, str] = {"ethnicity": "Ethnicity", "sex": "Sex", "age_band": "Age band"}
#: values that always sort last (after the natural order)
LAST = ("other", "unknown", "missing", "not recorded")
OVERALL = "(all)"


def _split_k(key: str) -> tuple[str, int | None]:
    """'recall@100' / 'recall_at_100' -> ('recall', 100)."""
    m = re.fullmatch(r"(.+?)(?:@|_at_)(\d+)", key)
    return (m.group(1), int(m.group(2))) if m else (key, None)


def metric_name(key: str) -> str:
    """Readable name of a metrics.json key; unknown keys in words, never raw."""
    base, k = _split_k(str(key))
    if base in METRICS:
        name = METRICS[base][0]
        return name.format(k=k) if k is not None else name.replace(" in the top {k}", "")
    return str(key).replace("_", " ").replace("@", " at ")


def metric_help(key: str) -> str:
    """One line saying what the metric means, or ''."""
    base, k = _split_k(str(key))
    text = METRICS.get(base, ("", ""))[1]
    return text.format(k=k if k is not None else "k")


def system_name(key: str) -> str:
    """Readable name of a ranking (model, baseline, incumbent, oracle)."""
    k = str(key)
    if k in SYSTEMS:
        return SYSTEMS[k]
    if k.lower() in SYSTEMS:
        return SYSTEMS[k.lower()]
    return k.replace("_", " ")


def band_name(key) -> str:
    """Readable band name ('not available' when missing)."""
    if key is None or (isinstance(key, float) and math.isnan(key)):
        return NOT_AVAILABLE
    return BANDS.get(str(key), str(key).replace("_", " ").capitalize())


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, tuple[str, str]]:
    """{indicator: (short name, unit)} from the features catalogue, read lazily."""
    try:
        from riskcohort.features.catalogue import load_catalogue

        items = load_catalogue()
    except Exception:  # noqa: BLE001 - names fall back to words; nothing else depends on it
        return {}
    out = {}
    for i in items:
        label = getattr(i, "label", None) or short_description(getattr(i, "description", ""))
        out[i.name] = (label, getattr(i, "unit", "") or "")
    return out


def short_description(text: str) -> str:
    """First clause of a catalogue description, without the trailing full stop or "T"."""
    first = re.split(r"(?<=[a-z0-9)])\. |; ", str(text).strip(), maxsplit=1)[0].rstrip(". ")
    first = re.sub(r" \([^)]*\)", "", first)
    first = re.sub(r"[\s,/+*:-]+$", "", first)  # what a removed formula leaves behind
    return plain_text(first)


def plain_text(text: str) -> str:
    """Catalogue prose for people: the as-of date "T" in words, "NaN" as "unknown".

    >>> plain_text("Days from the last incident to T; NaN if never.")
    'Days from the last incident to the scoring date; unknown if never.'
    """
    text = re.sub(r"(?<![\w-])T(?![\w-])", "the scoring date", str(text))
    return re.sub(r"\bNaN\b", "unknown", text)


def indicator_name(key: str) -> str:
    """Readable name of an indicator column (the catalogue's, else the key in words)."""
    found = _catalogue().get(str(key))
    return found[0] if found else str(key).replace("_", " ")


def indicator_unit(key: str) -> str:
    """The catalogue's unit of an indicator ('' when unknown)."""
    found = _catalogue().get(str(key))
    return found[1] if found else ""


def attribute_name(key: str) -> str:
    return ATTRIBUTES.get(str(key), str(key).replace("_", " ").capitalize())


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


MAX_DECIMALS = 4


def number(value, digits: int = 3, missing: str = "-") -> str:
    """A number for people: thousands separators, ``digits`` significant digits for small
    values, never scientific notation; whole numbers without decimals."""
    if _missing(value):
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = float(value)
    if v.is_integer() and abs(v) >= 1:
        return f"{int(v):,}"
    if abs(v) >= 10 ** (digits - 1):
        return f"{v:,.0f}"
    if v == 0:
        return "0"
    if abs(v) < 10 ** -MAX_DECIMALS:
        return f"< {10 ** -MAX_DECIMALS:.{MAX_DECIMALS}f}" if v > 0 else "about 0"
    decimals = min(MAX_DECIMALS, max(0, digits - 1 - math.floor(math.log10(abs(v)))))
    text = f"{v:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def percent(value, digits: int | None = None, missing: str = NOT_AVAILABLE) -> str:
    """A proportion as a percentage with sensible digits: 52%, 4.0%, 0.35%, 0.012%.

    ``digits`` forces the number of decimals."""
    if _missing(value):
        return missing
    p = 100.0 * float(value)
    if digits is None:  # judged on the rounded value: 0.0999% reads "0.10%", not "0.100%"
        a = abs(p)
        digits = (0 if round(a) >= 10 or a == 0 else 1 if round(a, 1) >= 1 else
                  2 if round(a, 2) >= 0.1 else 3)
    return f"{p:.{digits}f}%"


def pp(value, missing: str = NOT_AVAILABLE) -> str:
    """A difference of proportions in percentage points, signed: '+1.2 pp'."""
    if _missing(value):
        return missing
    return f"{100.0 * float(value):+.1f} pp"


def interval(lo, hi, fmt=number) -> str:
    """'[lo, hi]' with the same formatter as the value; '' when either bound is missing."""
    if _missing(lo) or _missing(hi):
        return ""
    return f"[{fmt(lo)}, {fmt(hi)}]"


def and_list(parts: list[str]) -> str:
    """Items as a sentence lists them: 'a', 'a and b', 'a, b and c'.

    >>> and_list(["Oct 2021"]), and_list(["a", "b", "c"])
    ('Oct 2021', 'a, b and c')
    """
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


PLURALS = {"person": "people", "homicide": "homicides", "child": "children"}


def count(n, singular: str, plural: str | None = None) -> str:
    """'no homicides', '1 homicide', '2,531 people' (a count with the noun that agrees)."""
    if _missing(n):
        return f"{singular}: {NOT_AVAILABLE}"
    n = float(n)
    many = plural or PLURALS.get(singular) or f"{singular}s"
    if n == 0:
        return f"no {many}"
    if n.is_integer():
        return f"{int(n):,} {singular if n == 1 else many}"
    return f"{n:,.1f} {many}"  # an expected count (ties shared out)


def share_text(k: int, scored: int) -> str:
    """'top 100 (4.0% of 2,531 scored)': a cohort cut-off and its share of people scored."""
    if not scored:
        return f"top {int(k):,}"
    return f"top {int(k):,} ({percent(k / scored)} of {int(scored):,} scored)"


def natural_order(values: Iterable, attribute: str | None = None) -> list:
    """Categories in their natural order (age bands youngest first, bands highest first), then
    the rest alphabetically, then 'other'/'unknown'; the overall row '(all)' first."""
    values = list(dict.fromkeys(values))
    orders = [CATEGORY_ORDER[attribute]] if attribute in CATEGORY_ORDER else \
        list(CATEGORY_ORDER.values())

    def key(v):
        s = str(v)
        if s == OVERALL:
            return (0, 0, "")
        for order in orders:
            if s in order:
                return (1, order.index(s), "")
        if s.lower() in LAST:
            return (3, LAST.index(s.lower()), "")
        return (2, 0, s.lower())

    return sorted(values, key=key)


def date_text(value) -> str:
    """ISO date (YYYY-MM-DD) of a date-like value, 'not recorded' when missing."""
    if _missing(value) or value == "":
        return "not recorded"
    s = str(value)
    return s[:10] if re.match(r"\d{4}-\d{2}-\d{2}", s) else s
