"""Times as people read them (issue 19.7): "1 Dec 2026, 14:05" in the force's time zone.

The app stores UTC (``audit.now_iso``: ``2026-12-01T14:05:09.123456Z``) because the audit chain
must not depend on where a server runs; an officer reads local wall-clock time. Every timestamp
on a page goes through :func:`time_tag`, which shows the local reading and keeps the exact
stored value in ``<time datetime=...>`` (machine-readable, shown as a tooltip), so nothing is
lost and screen readers get one clear phrase.

The zone is ``$RISKCOHORT_TIMEZONE`` (an IANA name such as ``Europe/London``; ``serve
--timezone`` sets it), else the server's local zone. A time without a zone is taken as already
local: the data contract's times (incidents, assessments) are local wall-clock times.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import markupsafe

from riskcohort.errors import UserError

TZ_ENV = "RISKCOHORT_TIMEZONE"


def check_zone(name: str) -> str:
    """``name`` if it is a known IANA time zone, else a UserError naming the rule."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"--timezone {name!r}: rule an IANA time zone name, e.g. "
                        "Europe/London") from None
    return name


def zone() -> dt.tzinfo | None:
    """The configured zone; None means the server's local zone."""
    name = os.environ.get(TZ_ENV)
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return None


def parse(value) -> dt.datetime | dt.date | None:
    """A stored value as a datetime (aware when it carried a zone) or a date; None if unusable.

    >>> parse("2026-12-01T14:05:09.123Z").isoformat()
    '2026-12-01T14:05:09.123000+00:00'
    >>> parse("2026-12-01"), parse(""), parse("never")
    (datetime.date(2026, 12, 1), None, None)
    """
    if value is None or value != value:
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime()
    text = str(value).strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def local(value) -> dt.datetime | dt.date | None:
    """``value`` in the configured zone (an aware value is converted; a naive one is local)."""
    t = parse(value)
    if isinstance(t, dt.datetime) and t.tzinfo is not None:
        return t.astimezone(zone())
    return t


def readable(value, with_zone: bool = False) -> str:
    """'1 Dec 2026, 14:05' (a date alone: '1 Dec 2026'); the input text if it is not a time.

    >>> readable("2026-12-01")
    '1 Dec 2026'
    >>> readable(dt.datetime(2026, 3, 9, 7, 5))
    '9 Mar 2026, 07:05'
    """
    t = local(value)
    if t is None:
        return "" if value is None or value != value else str(value)
    day = f"{t.day} {t:%b %Y}"
    if not isinstance(t, dt.datetime):
        return day
    out = f"{day}, {t:%H:%M}"
    if with_zone and t.tzinfo is not None:
        out += f" {t.tzname()}"
    return out


def time_tag(value, empty: str = "") -> markupsafe.Markup:
    """``<time datetime="ISO">1 Dec 2026, 14:05</time>``: local reading, exact stored value.

    >>> str(time_tag("2026-12-01"))
    '<time datetime="2026-12-01">1 Dec 2026</time>'
    >>> str(time_tag(None, "never"))
    'never'
    """
    t = parse(value)
    if t is None:
        return markupsafe.escape(empty if value is None or value != value or not str(value)
                                 else value)
    iso = t.isoformat()
    title = ""
    if isinstance(t, dt.datetime) and t.tzinfo is not None:
        title = f' title="{markupsafe.escape(t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))}"'
    return markupsafe.Markup(f'<time datetime="{markupsafe.escape(iso)}"{title}>'
                             f'{markupsafe.escape(readable(t))}</time>')


ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}"
                      r"([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def time_tag_if_time(value) -> markupsafe.Markup | object:
    """A value of a table cell: a time tag when it is an ISO date or time, else unchanged
    (evidence records mix ids, kinds and times).

    >>> str(time_tag_if_time("2026-01-29T00:00:00")), time_tag_if_time("I-123")
    ('<time datetime="2026-01-29">29 Jan 2026</time>', 'I-123')
    """
    if isinstance(value, str) and ISO_TIME.match(value.strip()):
        t = parse(value.strip())
        if isinstance(t, dt.datetime) and t.tzinfo is None and t.time() == dt.time():
            t = t.date()  # a record dated to the day, not a time at midnight
        return time_tag(t) if t is not None else value
    return value


def zone_name() -> str:
    """The zone's name for a page footer, e.g. 'Europe/London' or 'UTC' (server local)."""
    name = os.environ.get(TZ_ENV)
    if name and zone() is not None:
        return name
    return dt.datetime.now().astimezone().tzname() or "local"
