"""Server-side SVG charts (no JavaScript, no external assets): the SHAP waterfall and bars.

Why SVG strings: the page must render offline under a strict Content-Security-Policy, print well
and be readable by screen readers (``<title>`` and ``role="img"``; the same numbers are in a table
next to the chart). Colours come from classes styled by the app's CSS, never inline styles.
"""

from __future__ import annotations

from markupsafe import Markup, escape


def points(pp: float) -> str:
    """Signed percentage points (``explain.reasons.points``)."""
    from riskcohort.explain.reasons import points as fmt

    return fmt(pp)


def _short(label: str, n: int = 60) -> str:
    """A label that fits the chart's label column (the full text is in the bar's title).

    >>> _short("a" * 70)[-1], len(_short("a" * 70))
    ('…', 60)
    """
    return label if len(label) <= n else label[: n - 1].rstrip() + "…"


def _pct(p: float) -> str:
    """A probability as the score card shows it (``display.percent``)."""
    from riskcohort.display import percent

    return percent(p)


def waterfall(base: float, items: list[tuple[str, float]], top: int = 10,
              width: int = 900, *, final: float | None = None) -> Markup:
    """Waterfall on the calibrated probability scale: from the base estimate ``base`` (a
    probability) through each indicator's effect (``items``: label, percentage points) to the
    person's risk estimate.

    The effects are exact shares of ``score - base`` (``explain.reasons.share_pp``), so the bars
    end at the score; ``final`` (the stored score) is the label at the end and must agree with
    the bars (it does by construction; the drawn end is the sum). The ``top`` largest are
    drawn, the rest summed into one bar.

    >>> svg = waterfall(0.02, [("a", 4.0), ("b", -1.0)], final=0.05)
    >>> svg.count("<rect"), "Risk estimate 5.0%" in svg, "Base estimate 2.0%" in svg
    (2, True, True)
    """
    items = sorted(items, key=lambda t: -abs(t[1]))
    shown, rest = items[:top], items[top:]
    if rest:
        shown.append((f"{len(rest)} other indicators", sum(c for _, c in rest)))
    label_w, row_h, pad = 420, 24, 30
    height = pad * 2 + row_h * (len(shown) + 2)
    start = 100.0 * base
    pos, xs = start, [start]
    for _, c in shown:
        pos += c
        xs.append(pos)
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.12 * span, hi + 0.12 * span
    x = lambda v: label_w + 70 + (v - lo) / (hi - lo) * (width - label_w - 150)  # noqa: E731
    end = xs[-1] / 100.0 if final is None else final
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" role="img" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
           f"<title>How the risk estimate is built: base estimate {_pct(base)}, indicator "
           f"effects in percentage points, risk estimate {_pct(end)}</title>"]
    y = pad
    out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="lbl">'
               f"Base estimate {_pct(base)}</text>")
    out.append(f'<line x1="{x(start):.1f}" x2="{x(start):.1f}" y1="{y}" y2="{height - pad}" '
               'class="axis"/>')
    pos = start
    for i, (label, c) in enumerate(shown, start=1):
        y = pad + i * row_h
        a, b = sorted((x(pos), x(pos + c)))
        cls = "up" if c > 0 else "down"
        value = f"{points(c)} pp"
        out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="lbl">'
                   f"{escape(_short(str(label)))}</text>")
        out.append(f'<rect x="{a:.1f}" y="{y + 4}" width="{max(b - a, 1.0):.1f}" height="16" '
                   f'class="{cls}"><title>{escape(str(label))}: {value}</title></rect>')
        tx, anchor = (b + 4, "start") if c > 0 else (a - 4, "end")
        out.append(f'<text x="{tx:.1f}" y="{y + 16}" text-anchor="{anchor}" class="val">'
                   f"{value}</text>")
        pos += c
    y = pad + (len(shown) + 1) * row_h
    out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="lbl total">'
               f"Risk estimate {_pct(end)}</text>")
    out.append(f'<line x1="{x(pos):.1f}" x2="{x(pos):.1f}" y1="{pad}" y2="{y + 20}" '
               'class="final"/>')
    out.append("</svg>")
    return Markup("".join(out))


def bars(items: list[tuple[str, float]], width: int = 600, fmt: str = "{:.3f}") -> Markup:
    """Simple horizontal bar chart of non-negative values (e.g. mean |SHAP| importance).

    >>> bars([("a", 2.0), ("b", 1.0)]).count("<rect")
    2
    """
    label_w, row_h = 260, 22
    top = max((v for _, v in items), default=1.0) or 1.0
    h = row_h * len(items) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" role="img" '
           f'viewBox="0 0 {width} {h}" width="{width}" height="{h}"><title>Bar chart</title>']
    for i, (label, v) in enumerate(items):
        y = 5 + i * row_h
        w = max(v, 0) / top * (width - label_w - 70)
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" class="lbl">'
                   f"{escape(str(label)[:40])}</text>"
                   f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="14" class="up"/>'
                   f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" class="val">'
                   f"{escape(fmt.format(v))}</text>")
    out.append("</svg>")
    return Markup("".join(out))
