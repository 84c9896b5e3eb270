"""Governance pack section on interventions (issue 17.6): the block states who was managed, the
managed/unmanaged outcomes, the impact estimate with its interval and assumptions, and how
training handled interventions; absent pieces are said."""

from __future__ import annotations

import re
from html import unescape
from types import SimpleNamespace

import jinja2
import pandas as pd
import pytest

from riskcohort import display
from riskcohort.governance import impact_text, interventions


def _block() -> tuple[jinja2.Environment, str]:
    env = jinja2.Environment(loader=jinja2.PackageLoader("riskcohort.governance", "templates"))
    src = env.loader.get_source(env, "report.html")[0]
    start = src.index("{% set iv = interventions %}")
    return env, src[start: src.index('<h2 id="stability">')]


def _run(tmp_path, impact=None):
    data = tmp_path / "data"
    data.mkdir()
    T = pd.Timestamp
    pd.DataFrame({"intervention_id": ["V1", "V2", "V3"], "person_id": ["a", "b", "c"],
                  "kind": ["dapst_managed"] * 3,
                  "start_date": [T("2024-01-01"), T("2024-04-01"), T("2024-05-01")],
                  "end_date": [pd.NaT, T("2024-05-01"), pd.NaT],
                  "recorded_at": [T("2024-01-02"), T("2024-04-02"), T("2024-07-01")],
                  "end_recorded_at": [pd.NaT, T("2024-05-02"), pd.NaT]}
                 ).to_parquet(data / "interventions.parquet")
    scores = pd.DataFrame({"person_id": ["a", "b", "d"], "in_cohort": [True, True, False]})
    metrics = SimpleNamespace(by_management={
        "managed": {"people": 2, "serious_harm": 1, "observed_rate": 0.5,
                    "mean_predicted": 0.4, "auc_model": None},
        "unmanaged": {"people": 10, "serious_harm": 1, "observed_rate": 0.1,
                      "mean_predicted": 0.12, "auc_model": 0.8}})
    files = {}
    if impact is not None:
        p = tmp_path / "impact.json"
        p.write_text(__import__("json").dumps(impact))
        files["impact.json"] = p
    return SimpleNamespace(
        data_dir=data, as_of=T("2024-06-01"), scores=scores, metrics=metrics, attachments=files,
        manifest={"training": {"interventions": {"method": "censor", "rows": 100,
                                                 "rows_managed_in_horizon": 7}}})


def test_section_and_block(tmp_path):
    impact = {"kind": "dapst_managed", "from": "2022-01-01", "to": "2023-12-31",
              "relative_risk": 0.61, "lo": 0.45, "hi": 0.83, "n_managed": 300,
              "n_comparison": 700, "assumptions": ["Observational: no randomisation."],
              "warnings": ["Observational estimate.", "Few events."]}
    sec = interventions.section(_run(tmp_path, impact))
    assert sec["managed_now"] == {"recorded": True, "people": 1, "kinds": ["dapst_managed"],
                                  "in_cohort": 1, "cohort_size": 2}  # b ended, c recorded later
    env, block = _block()
    html = env.from_string(block).render(interventions=sec, d=display)
    assert "1 person was under a recorded intervention" in html
    assert "0.61 (95% interval 0.45 to 0.83)" in html and "lies below 1" in html
    assert "Observational: no randomisation." in html and "Few events." in html
    assert "7 of 100 training rows" in html and "left out of training" in html
    assert "50.0%" in html and "0.80" in html


def test_absent_pieces_are_said(tmp_path):
    run = _run(tmp_path)
    run.metrics = None
    run.manifest = {}
    sec = interventions.section(run)
    env, block = _block()
    html = env.from_string(block).render(interventions=sec, d=display)
    assert "No impact estimate is attached" in html
    assert "not recorded (a run before issue 17)" in html


def test_block_shows_window_ranking_and_falsification(tmp_path):
    impact = {"kind": "dapst_managed", "from": "2022-01-01", "to": "2023-12-31",
              "relative_risk": 0.7, "lo": 0.5, "hi": 0.95, "n_managed": 300,
              "n_comparison": 700, "assumptions": [], "warnings": ["Observational."],
              "outcome": "serious domestic harm perpetrated within 638 days of the start",
              "selection": {"score": "incumbent"},
              "checks": {"fake_cutoff": {"relative_risk": 1.04, "lo": 0.8, "hi": 1.3}}}
    env, block = _block()
    html = env.from_string(block).render(interventions=interventions.section(
        _run(tmp_path, impact)), d=display)
    assert "Relative risk of serious domestic harm perpetrated within 638 days" in html
    assert "1.04 (0.80 to 1.30)" in html


# --- the months and ranking(s) the estimate rests on (riskcohort impact --months sharp|all) ---

def _pack_block(sec: dict) -> str:
    """The section rendered with the pack's own environment (strict, autoescaped), as text."""
    from riskcohort.governance.pack import _env
    env = _env()
    src = env.loader.get_source(env, "report.html")[0]
    block = src[src.index("{% set iv = interventions %}"): src.index('<h2 id="stability">')]
    return env.from_string(block).render(interventions=sec)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _paragraph(html: str, lead: str) -> str:
    """The text of the paragraph that starts with the bold ``lead``."""
    start = html.index(f"<b>{lead}</b>")
    return _text(html[start: html.index("</p>", start)])


def _table(html: str, first_header: str) -> list[list[str]]:
    """Body rows (cell texts) of the table whose first column header is ``first_header``."""
    start = html.index(f"<th>{first_header}</th>")
    body = html[html.index("<tbody>", start): html.index("</tbody>", start)]
    return [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def _month(iso: str) -> str:
    return pd.Timestamp(iso).strftime("%b %Y")


def _json(agreements: list[float], rankings: list[str], mode: str = "sharp",
          n_picks: int = 150) -> dict:
    """An impact JSON with the documented keys, its months decided as ``riskcohort impact``
    decides them (>= 80% of picks: sharp; the sharp months need 200 managed people)."""
    months = [str(d.date()) for d in pd.date_range("2021-01-01", periods=len(agreements),
                                                   freq="QS")]
    by = [{"month": m, "ranking": r, "agreement": a, "n_picks": n_picks, "sharp": a >= 0.8}
          for m, r, a in zip(months, rankings, agreements, strict=True)]
    sharp = [m["month"] for m in by if m["sharp"]]
    managed = n_picks * len(sharp)
    fallback = None
    if mode == "sharp" and not sharp:
        fallback = "no month's ranking holds 80% of its picks (the design is fuzzy in every month)"
    elif mode == "sharp" and managed < 200:
        fallback = (f"the {len(sharp)} sharp month(s) (ranking holds >= 80% of picks) hold only "
                    f"{managed} managed people in the compared region (minimum 200)")
    used = "sharp" if mode == "sharp" and not fallback else "all"
    kept = sharp if used == "sharp" else months
    use = [m for m in by if m["month"] in kept]
    names = pd.Series([m["ranking"] for m in use]).value_counts()
    score = names.index[0] if len(names) == 1 else " and ".join(
        f"{k} ({v} month{'s' if v != 1 else ''})" for k, v in names.items())
    every = {"relative_risk": 1.7585, "lo": 1.4495, "hi": 2.1335, "n_managed": 1626,
             "n_comparison": 1174, "events_managed": 218, "events_comparison": 214,
             "months": len(months)}
    primary = every if used == "all" else {
        "relative_risk": 0.9485, "lo": 0.79, "hi": 1.0976, "n_managed": managed,
        "n_comparison": 450, "events_managed": 128, "events_comparison": 84}
    warnings = ["Observational estimate: see assumptions for what would bias it."]
    if fallback:
        warnings.append(f"All months are used, sharp or not, because {fallback}: ...")
    return {**primary, "kind": "dapst_managed", "from": months[0], "to": "2022-06-30",
            "method": "cut-off", "assumptions": ["Observational: no randomisation."],
            "warnings": warnings + ["Few outcome events."],
            "selection": {"score": score, "by_month": by, "agreement_used": round(
                sum(m["agreement"] for m in use) / len(use), 4)},
            "months_used": {"requested": mode, "used": used, "kept": kept,
                            "left_out": [m for m in months if m not in kept],
                            "sharp_agreement": 0.8, "min_sharp_managed": 200,
                            "sharp_months_managed": managed, "fallback": fallback},
            "checks": {"fake_cutoff": {"relative_risk": 1.04, "lo": 0.8, "hi": 1.3},
                       "all_months": every}}


def check_months_text(im: dict, html: str) -> None:
    """Everything the section says about months and rankings agrees with the JSON."""
    used, sel = im["months_used"], im["selection"]
    every = [m["month"] for m in sel["by_month"]]
    # the primary estimate, formatted as the rest of the section (2 decimals)
    assert f"{im['relative_risk']:.2f} (95% interval {im['lo']:.2f} to {im['hi']:.2f})" \
        in _text(html)
    months = _paragraph(html, "Which months the estimate uses.")
    cut = f"{100 * used['sharp_agreement']:g}%"
    assert cut in months, months
    if used["used"] == "sharp":
        assert used["fallback"] is None
        assert f"uses the {len(used['kept'])} of {len(every)} months" in months or \
            (not used["left_out"] and f"uses all {len(every)} months" in months), months
        for group, text in ((used["kept"], months.split("are left out")[0]),
                            (used["left_out"], months.split(" other ")[-1])):
            named = group if len(group) <= impact_text.LIST_MAX else [group[0], group[-1]]
            assert all(_month(m) in text for m in named), (group, months)
        low = [m["agreement"] for m in sel["by_month"] if m["month"] in used["left_out"]]
        if low:
            assert f"only {100 * min(low):.1f}% to {100 * max(low):.1f}%" in months, months
    else:
        assert f"uses all {len(every)} months" in months and "left out" not in months, months
        if used["fallback"]:  # why: the sharp months and what they held, as in the JSON
            sharp = [m["month"] for m in sel["by_month"] if m["sharp"]]
            assert "prefers the months" in months and "caution" in months, months
            if sharp:
                assert f"only {used['sharp_months_managed']} managed" in months, months
                assert f"fewer than the {used['min_sharp_managed']}" in months, months
                assert all(_month(m) in months for m in sharp), months
            else:
                assert "in no month does the ranking hold" in months, months
            # said once, in words: the JSON's fallback warning is not repeated
            assert "All months are used, sharp or not" not in html
        else:
            assert "as requested (--months all)" in months, months
    # the ranking(s), read from the JSON's own label, and their pooled agreement
    ranking = _paragraph(html, "How the team's cut-off was found.")
    assert f"{100 * sel['agreement_used']:.1f}% of the team's picks" in ranking, ranking
    parts = re.findall(r"(\w+) \((\d+) months?\)", sel["score"]) or [(sel["score"], None)]
    for key, n in parts:
        name = impact_text.RANKINGS[key]
        assert (f"{name} in {n} month" if n else f"{name} in all") in ranking, (key, ranking)
    # one row per month, each agreeing with selection.by_month and months_used
    rows = _table(html, "Month")
    assert len(rows) == len(sel["by_month"])
    for row, m in zip(rows, sel["by_month"], strict=True):
        name = impact_text.RANKINGS[m["ranking"]].removeprefix("the ")
        assert row[:4] == [_month(m["month"]), str(m["n_picks"]), name[0].upper() + name[1:],
                           f"{100 * m['agreement']:.1f}%"], (row, m)
        assert row[4].startswith("left out" if m["month"] in used["left_out"] else "yes"), row
        assert ("below " + cut in row[4]) == (not m["sharp"]), row
    # the all-months estimate beside the primary one when months were left out
    a = im["checks"]["all_months"]
    if used["used"] == "sharp" and used["left_out"]:
        both = _table(html, "Estimate")
        assert [r[1:] for r in both] == [
            [str(len(used["kept"])), f"{r['n_managed']:,}", f"{r['n_comparison']:,}",
             f"{r['events_managed']} / {r['events_comparison']}", f"{r['relative_risk']:.2f}",
             f"{r['lo']:.2f} to {r['hi']:.2f}"] if r is im else
            [str(a["months"]), f"{a['n_managed']:,}", f"{a['n_comparison']:,}",
             f"{a['events_managed']} / {a['events_comparison']}", f"{a['relative_risk']:.2f}",
             f"{a['lo']:.2f} to {a['hi']:.2f}"] for r in (im, a)], both
    else:
        assert "<th>Estimate</th>" not in html


@pytest.mark.parametrize("agreements,rankings,mode", [
    # sharp months kept, early fuzzy months left out, two rankings in the months used
    ([0.26, 0.16, 0.28, 1.0, 1.0, 0.85], ["incumbent"] * 4 + ["matac_rfgv", "learned"], "sharp"),
    # one sharp month (150 managed < 200): falls back to every month, with the reason
    ([0.267, 0.253, 0.207, 0.233, 0.28, 1.0], ["incumbent"] * 4 + ["learned", "incumbent"],
     "sharp"),
    # no sharp month at all
    ([0.5, 0.6, 0.7], ["learned"] * 3, "sharp"),
    # every month sharp: nothing left out, no second estimate
    ([0.9, 1.0], ["iteration_2"] * 2, "sharp"),
    # --months all asked for
    ([0.26, 1.0, 1.0], ["incumbent"] * 3, "all"),
    # a long extract: 19 quarters, the months named by their first and last
    ([0.4, 0.5, 0.6, 0.7, 0.75, 0.9, 0.6, 0.85, 0.95, 1.0] + [0.9] * 9, ["learned"] * 19,
     "sharp"),
])
def test_months_and_rankings_agree_with_the_json(tmp_path, agreements, rankings, mode):
    im = _json(agreements, rankings, mode)
    html = _pack_block(interventions.section(_run(tmp_path, im)))
    check_months_text(im, html)
    assert "Few outcome events." in html  # the other warnings are kept


def test_an_estimate_before_the_months_keys_still_renders(tmp_path):
    im = {"kind": "dapst_managed", "from": "2022-01-01", "to": "2023-12-31",
          "relative_risk": 0.61, "lo": 0.45, "hi": 0.83, "n_managed": 300,
          "n_comparison": 700, "assumptions": [], "warnings": ["Observational."]}
    html = _pack_block(interventions.section(_run(tmp_path, im)))  # strict: no missing key
    assert "0.61 (95% interval 0.45 to 0.83)" in html
    assert "Which months" not in html and "<th>Month</th>" not in html


@pytest.mark.slow
@pytest.mark.parametrize("hidden", [3, 5])
def test_months_text_on_the_estimators_own_json(tmp_path, monkeypatch, hidden):
    """``riskcohort impact`` on the impact tests' fixture force (hidden selection in the first
    ``hidden`` quarters): sharp months kept; one sharp quarter, so every month with the reason
    (and two rankings). The pack agrees with the JSON the estimator writes today."""
    from riskcohort.impact import estimate
    from tests.impact.test_months import _force

    ds, snap = _force(0.0, seed=8 + hidden, hidden=hidden)
    monkeypatch.setattr(estimate, "_snapshot", lambda ds, ms: snap.loc[
        snap["as_of"].isin(ms)].reset_index(drop=True))
    im = estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", n_boot=50)
    html = _pack_block(interventions.section(_run(tmp_path, im)))
    check_months_text(im, html)


@pytest.mark.slow
def test_report_impact_option_attaches_and_shows_the_estimate(tmp_path):
    """``riskcohort report RUN --impact FILE``: the file becomes the verified impact.json
    attachment, byte for byte, and the pack's section says its months; a wrong file is one
    line, exit 2."""
    import json

    from typer.testing import CliRunner

    from riskcohort.cli import app
    from riskcohort.runfolder import open_run
    from tests.governance.gov_fixture import write_run

    run = write_run(tmp_path / "r")
    im = _json([0.26, 0.16, 0.28, 1.0, 1.0, 1.0], ["incumbent"] * 6)
    src = tmp_path / "estimate.json"
    src.write_text(json.dumps(im, indent=1))
    out = tmp_path / "pack.html"
    res = CliRunner().invoke(app, ["report", str(run), "--out", str(out), "--n-boot", "20",
                                   "--persons", "0", "--impact", str(src)])
    assert res.exit_code == 0, res.output
    assert open_run(run).attachments["impact.json"].read_bytes() == src.read_bytes()
    html = out.read_text(encoding="utf-8")
    check_months_text(im, html[html.index('<h3 id="interventions">'):])

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"relative_risk": 1.0}))
    res = CliRunner().invoke(app, ["report", str(run), "--out", str(out), "--n-boot", "20",
                                   "--impact", str(bad)])
    assert res.exit_code == 2, res.output
    assert "impact_keys" in res.output and "n_managed" in res.output
    assert "Traceback" not in res.output
