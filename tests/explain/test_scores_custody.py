"""scores.csv carries the custody flag (issue 14.3): in_custody and days since release."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskcohort.modelling.iteration import SCORE_COLUMNS, _custody_columns


def test_custody_columns_written_with_scores():
    assert "in_custody" in SCORE_COLUMNS and "days_since_custody_release" in SCORE_COLUMNS
    feats = pd.DataFrame({"in_custody": [1.0, 0.0, np.nan],
                          "days_since_custody_release": [np.nan, 60.4, 3.0]})
    out = pd.DataFrame(_custody_columns(feats))
    assert out["in_custody"].tolist()[:2] == [True, False] and pd.isna(out["in_custody"][2])
    assert out["days_since_custody_release"].tolist()[1:] == [60, 3]
    csv = out.to_csv(index=False).splitlines()
    assert csv[1:] == ["True,", "False,60", ",3"]  # unknown stays empty, never 0 or NaN
    none = pd.DataFrame(_custody_columns(pd.DataFrame({"x": [1.0]})))
    assert none.isna().all().all()  # no custody source: unknown, not "not in custody"
