"""Human labels for indicators: descriptions and reason sentences from the features catalogue.

Why: an officer reads "Breaches of protective orders in the last year: 3", not
``breach_count_365d = 3.0``. The catalogue (``riskcohort.features.catalogue``) is the one source of
these words; explain never invents indicator meanings. When the catalogue is unavailable, or has no
entry for a column, the column name is shown as is (so nothing is hidden or mislabelled).

>>> lab = Label("da_count_365d", "Domestic incidents in the last 365 days", "{value} domestic "
...             "incidents in the last year", "count")
>>> render_reason(lab, 3.0)
'3 domestic incidents in the last year'
>>> format_value(float("nan"), "count"), format_value(437.621, "days"), format_value(52.15, "years")
('unknown', '438', '52')
>>> render_reason(Label("n", "Assessments", "{value:.0f} risk assessments", "assessments"), 1)
'1 risk assessment'
>>> held = Label("c", "In custody", "held in custody at the scoring date ({value:.0f})", "flag")
>>> render_reason(held, 0)
'not held in custody at the scoring date'
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    """What explain needs from one catalogue entry."""

    name: str
    description: str
    reason: str | None = None
    unit: str | None = None
    window: str | None = None
    direction: str | None = None


_FLAG_UNITS = {"flag", "bool", "boolean", "yes/no", "binary"}
_WHOLE_UNITS = {"days", "years", "count", "incidents", "offences", "crimes", "assessments",
                "breaches", "markers", "orders", "partners", "periods", "referrals", "victims"}
_GRADES = {0: "standard", 1: "medium", 2: "high"}
#: plural nouns of the catalogue's reason sentences, singular after a count of exactly 1
_SINGULAR = {"incidents": "incident", "offences": "offence", "crimes": "crime",
             "assessments": "assessment", "breaches": "breach", "victims": "victim",
             "partners": "partner", "members": "member", "orders": "order", "grades": "grade",
             "referrals": "referral", "markers": "marker", "periods": "period", "sets": "set",
             "days": "day", "years": "year", "months": "month", "conditions": "conditions"}
_ONE = re.compile(r"(?<![\w.])1 ((?:[\w/-]+ ){0,4}?)(" + "|".join(_SINGULAR) + r")\b")


def _is_grade(unit: str | None) -> bool:
    return (unit or "").lower().startswith("grade")


def format_value(value, unit: str | None = None) -> str:
    """A value as an officer should read it: whole days, years and counts, yes/no flags,
    grades in words, 'unknown' for NaN (never "NaN")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    value = float(value)
    u = (unit or "").lower()
    if u in _FLAG_UNITS:
        return "yes" if value >= 0.5 else "no"
    if _is_grade(u) and round(value) in _GRADES:
        return _GRADES[int(round(value))]
    if u in _WHOLE_UNITS or "days" in u or value.is_integer():
        whole = int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)  # 2.5 -> 3
        return f"{whole:,}" if abs(whole) >= 10_000 else str(whole)
    if u == "ratio":
        return f"{value:.1f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def singular_after_one(text: str) -> str:
    """'1 risk assessments' -> '1 risk assessment' (the noun agrees with a count of one)."""
    return _ONE.sub(lambda m: f"1 {m.group(1)}{_SINGULAR[m.group(2)]}", text)


def readable_name(label: Label) -> str:
    """A short readable name for tables and charts: flags named by their sentence ("Held in
    custody at the scoring date"), others by the first clause of the description, in words."""
    from riskcohort.display import plain_text, short_description

    if (label.unit or "").lower() in _FLAG_UNITS and label.reason:
        text = _FLAG_VALUE.sub("", label.reason).strip()
    else:
        text = short_description(label.description)
    text = re.sub(r"[\s,;:/]+$", "", re.sub(r",\s*/", "", plain_text(text))).strip()
    head, colon, _ = text.partition(": ")
    if colon and len(head) >= 20:  # a name, not its definition
        text = head
    if text.count("(") > text.count(")"):  # a clause cut inside brackets ("(e.g")
        text = text[:text.rindex("(")].rstrip(" ,;:")
    text = _SNAKE.sub(lambda m: m.group(0).replace("_", " "), text)  # no column names
    return (text[:1].upper() + text[1:]) if text else label.name.replace("_", " ")


_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


_FLAG_VALUE = re.compile(r"\s*\(\{value[^}]*\}\)")


class _Value:
    """A value that formats as :func:`format_value` by default and as a number given a spec."""

    def __init__(self, value, unit):
        self.value, self.unit = value, unit

    def __format__(self, spec: str) -> str:
        text = format_value(self.value, self.unit)
        if not spec or text == "unknown":
            return text
        return format(float(self.value), spec)

    def __str__(self) -> str:
        return format_value(self.value, self.unit)


class _Keep(dict):
    """Unknown template fields stay visible as ``{field}`` rather than raising."""

    def __missing__(self, key):
        return "{" + key + "}"


def render_reason(label: Label, value) -> str:
    """The catalogue's reason sentence with the value filled in, in plain English: flags as
    sentences ("not held in custody ..."), grades in words, rounded numbers, nouns agreeing
    with a count of one, the as-of date in words; "<name>: unknown" for a missing value."""
    from riskcohort.display import plain_text

    shown = format_value(value, label.unit)
    unit = (label.unit or "").lower()
    if not label.reason or shown == "unknown":
        return f"{readable_name(label)}: {shown}"
    if unit in _FLAG_UNITS:
        sentence = _FLAG_VALUE.sub("", label.reason).strip()
        if shown == "no":
            sentence = (sentence.replace(" is ", " is not ", 1) if " is " in sentence
                        else f"not {sentence}")
        return plain_text(sentence)
    if _is_grade(unit):
        return f"{readable_name(label)}: {shown}"
    fields = _Keep(
        value=_Value(value, label.unit),
        unit=label.unit or "",
        window=label.window or "",
        description=label.description,
        name=label.name,
    )
    try:
        text = string.Formatter().vformat(label.reason, (), fields)
    except (ValueError, IndexError):
        text = f"{readable_name(label)}: {shown}"
    return singular_after_one(plain_text(text))


def _from_catalogue() -> dict[str, Label]:
    try:
        from riskcohort.features.catalogue import load_catalogue
    except ImportError:
        return {}
    out: dict[str, Label] = {}
    for ind in load_catalogue():
        name = getattr(ind, "name", None) or ind["name"]  # type: ignore[index]  # dict entries
        get = (lambda k, ind=ind: ind.get(k)) if isinstance(ind, dict) else (
            lambda k, ind=ind: getattr(ind, k, None)
        )
        out[name] = Label(
            name=name,
            description=get("description") or name,
            reason=get("reason"),
            unit=get("unit"),
            window=None if get("window") is None else str(get("window")),
            direction=get("direction"),
        )
    return out


def _training_only_labels() -> dict[str, Label]:
    """Model inputs that are not indicators: ``feature_fixed``'s share of the outcome year
    under management, set to 0 at scoring (``modelling.treatment``). An officer reads what
    that means for this score, not the column name."""
    from riskcohort.modelling.treatment import FEATURE

    text = "Scored as if not managed by the team"
    return {FEATURE: Label(FEATURE, text, reason=(
        f"{text}: training learned how management lowered recorded harm, and this score "
        "leaves that out"))}


def indicator_labels(names: list[str]) -> dict[str, Label]:
    """A label for each name: the catalogue's entry, a training-only input's, or the bare
    column name."""
    known = {**_training_only_labels(), **_from_catalogue()}
    return {n: known.get(n, Label(n, n.replace("_", " "))) for n in names}
