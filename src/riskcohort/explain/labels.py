"""Human labels for indicators: descriptions and reason sentences from the features catalogue.

Why: an officer reads "Breaches of protective orders in the last year: 3", not
``breach_count_365d = 3.0``. The catalogue (``riskcohort.features.catalogue``) is the one source of
these words; explain never invents indicator meanings. When the catalogue is unavailable, or has no
entry for a column, the column name is shown as is (so nothing is hidden or mislabelled).

>>> lab = Label("da_count_365d", "Domestic incidents in the last 365 days", "{value} domestic "
...             "incidents in the last year", "count")
>>> render_reason(lab, 3.0)
'3 domestic incidents in the last year'
>>> format_value(float("nan"), "count")
'unknown'
"""

from __future__ import annotations

import math
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


def format_value(value, unit: str | None = None) -> str:
    """A value as an officer should read it: whole counts, yes/no flags, 'unknown' for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    value = float(value)
    if (unit or "").lower() in _FLAG_UNITS:
        return "yes" if value >= 0.5 else "no"
    if value.is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


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
    """The catalogue's reason sentence with the value filled in (description: value otherwise)."""
    shown = format_value(value, label.unit)
    if not label.reason or shown == "unknown":
        # Descriptions may add a sentence on how unknowns are coded ("NaN if never assessed."):
        # keep only the first clause so the sentence reads "<what>: unknown".
        what = label.description.split(";")[0].split(". ")[0].rstrip(". ")
        return f"{what}: {shown}"
    fields = _Keep(
        value=_Value(value, label.unit),
        unit=label.unit or "",
        window=label.window or "",
        description=label.description,
        name=label.name,
    )
    try:
        return string.Formatter().vformat(label.reason, (), fields)
    except (ValueError, IndexError):
        return f"{label.description}: {shown}"


def _from_catalogue() -> dict[str, Label]:
    try:
        from riskcohort.features.catalogue import load_catalogue
    except ImportError:
        return {}
    out: dict[str, Label] = {}
    for ind in load_catalogue():
        name = getattr(ind, "name", None) or ind["name"]
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


def indicator_labels(names: list[str]) -> dict[str, Label]:
    """A label for each name: the catalogue's entry, or the bare column name."""
    known = _from_catalogue()
    return {n: known.get(n, Label(n, n.replace("_", " "))) for n in names}
