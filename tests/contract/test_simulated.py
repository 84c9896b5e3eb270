"""End to end with the synthetic generator: the validator quarantines exactly the injected
defects (``_truth/defects.json``), plus the documented cascade, in CSV and Parquet."""

from __future__ import annotations

import json

import pytest

from riskcohort.contract import load_dataset

# the generator's defect names -> the rule that must catch them
DEFECT_RULE = {
    "duplicate_row": "duplicate_key",
    "dangling_person": "missing_reference",
    "missing_required": "null_in_required",
    "unknown_enum": "unknown_enum",
    "recorded_before_occurred": "recorded_before_occurred",
}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_simulated_defects_are_quarantined_exactly(tmp_path, fmt):
    from riskcohort.simulate import simulate

    data = tmp_path / "force"
    simulate(data, preset="small", seed=3, fmt=fmt)
    truth = json.loads((data / "_truth" / "defects.json").read_text())["counts"]
    ds = load_dataset(data, report_dir=tmp_path / "report", data_docs=False)
    assert sum(sum(d.values()) for d in truth.values()) > 0
    for name, report in ds.report.tables.items():
        expected: dict[str, int] = {}
        for defect, n in truth.get(name, {}).items():
            if n:
                expected[DEFECT_RULE[defect]] = expected.get(DEFECT_RULE[defect], 0) + n
        got = dict(report.rules)
        got.pop("dangling_reference", None)  # the cascade, not an injected defect
        assert got == expected, name
        assert report.read == report.accepted + report.quarantined
