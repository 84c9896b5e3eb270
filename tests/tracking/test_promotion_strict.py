"""The stricter evidence rule: top-k calibration, fairness vs the champion, drift; and the
"awaiting approval" status (the champion never moves on evidence alone)."""

from __future__ import annotations

import numpy as np

from riskcohort.tracking.promotion import (
    AWAITING,
    FIRST,
    KEEP,
    decide_promotion,
    fairness_keys,
    markdown,
    poisson_ratio_interval,
    topk_calibration,
)

GOOD = dict(recall_diff=(0.01, -0.02, 0.04), ece=0.004, slope=1.0)


def test_evidence_passing_waits_for_a_person():
    d = decide_promotion(**GOOD, topk=(10, 9.0), fairness=(set(), set()), psi_max_value=0.05)
    assert d.promote and d.status == AWAITING and not d.notes
    assert "AWAITING APPROVAL" in markdown(d)
    assert decide_promotion(None, 0.5, 3.0, champion_exists=False).status == FIRST


def test_topk_calibration_must_cover_one():
    d = decide_promotion(**GOOD, topk=(2, 12.0))  # 2 observed where 12 expected: overconfident
    assert not d.promote and d.status == KEEP
    assert any("top-100 calibration fails" in r for r in d.reasons)
    lo, hi = poisson_ratio_interval(2, 12.0)
    assert hi < 1 and d.topk_ratio_hi == hi and lo < hi


def test_new_fairness_flag_blocks_and_old_one_does_not():
    assert not decide_promotion(**GOOD, fairness=({"ethnicity=black"}, set())).promote
    assert decide_promotion(**GOOD, fairness=({"sex=male"}, {"sex=male"})).promote


def test_drift_limit_and_missing_evidence_is_noted():
    assert not decide_promotion(**GOOD, psi_max_value=0.3).promote
    assert decide_promotion(**GOOD, psi_max_value=0.3, psi_max=0.5).promote
    d = decide_promotion(**GOOD)
    assert d.promote and len(d.notes) == 3 and "Not checked" in markdown(d)


def test_topk_helpers():
    y, p = np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.1, 0.2])
    o, e = topk_calibration(y, p, 2)
    assert o == 1.0 and abs(e - 1.7) < 1e-9
    flags = {"flags": [{"attribute": "sex", "group": "male"}],
             "equal_risk_by_system_flags": [{"system": "dash", "attribute": "x", "group": "y"}]}
    assert fairness_keys(flags) == {"sex=male"} and fairness_keys(None) is None


def test_markdown_reports_data_changes():
    d = decide_promotion(**GOOD)
    d.extra["data_changes"] = {"counts": {"incidents": {"added": 1, "replaced": 1, "removed": 0}},
                               "reclassified": [{"column": "offence"}],
                               "label_flips": [{"person_id": "a", "old": 1, "new": 0},
                                               {"person_id": "b", "old": 0, "new": 1}]}
    text = markdown(d)
    assert "1 reclassified fields (offence)" in text
    assert "2 training labels flip (1 to serious harm, 1 away from it) for 2 people" in text
