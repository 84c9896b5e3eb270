"""End to end: recording bias in the synthetic force -> model -> cohort -> equal-risk audit.

Why: issue 8 asks that bias detection be real, not only tested on constructed scores. The same
seed is simulated twice, without and with ``--bias-group black --bias-rate 1.0`` (every
non-serious incident of a known black perpetrator is recorded); the latent world and the true
risk are identical, only the records differ. Each run: features at 2024-09-01 and 2025-03-01
(labels known by 2026-09-01) train a LightGBM; the cohort at 2026-09-01 is the top **2%** of the
scored population (~116,000 people, k ~ 2,320); true risk from ``_truth/risk.parquet``,
ethnicity from persons (``governance.protected``), then ``equal_risk`` and ``flags``.

Measured by hand (`force`, k = 2%; black members ~5,800-6,050, expected selections ~113-121):

=====  ==========================  ============================  ==============
seed   biased: ratio (p), flagged  unbiased: ratio (p), flagged  rank shift b/u
=====  ==========================  ============================  ==============
0      1.26 (p=0.004), no          1.08 (p=0.37), none           +0.9 / -0.5
1      1.29 (p=0.0007), black      0.91 (p=0.32), none           +0.7 / -0.3
2      1.08 (p=0.33), no           0.92 (p=0.39), none           +1.5 / +0.6
=====  ==========================  ============================  ==============

So the audit flags nothing on unbiased data (robust: every group, three seeds) and the bias
raises the group's selection at equal true risk in every seed, but the flag itself (ratio > 1.25
*and* p < 0.01 / 6) fires in one seed of three: the issue's requirement that the audit *flags*
this bias is not met robustly (see docs/governance.md). This test asserts what holds in every
seed: no flag without bias, and a higher ratio and rank shift for the group with bias, paired on
the same seed (seed 0, not the seed that flags). ~1-2 minutes on 2 cores.
"""

from __future__ import annotations

import pandas as pd
import pytest

GROUP = "black"
AS_OF = pd.Timestamp("2026-09-01")
TRAIN_MONTHS_BEFORE = (12, 18)
COHORT_SHARE = 0.02
SEED = 0


def _scored(folder, seed, bias_group):
    """Simulate ``force`` (seed, bias), train, score at AS_OF; ethnicity and true risk joined."""
    import lightgbm as lgb

    from riskcohort.contract import load_dataset
    from riskcohort.features import build
    from riskcohort.governance.protected import attach_protected, attach_true_risk
    from riskcohort.simulate import simulate

    simulate(folder, preset="force", seed=seed, clean=True, bias_group=bias_group,
             bias_rate=1.0)
    ds = load_dataset(folder)
    train = build(ds, [(AS_OF - pd.DateOffset(months=m)).date() for m in TRAIN_MONTHS_BEFORE],
                  labels=True, labels_known_by=AS_OF.date())
    now = build(ds, [AS_OF.date()])
    feats = [c for c in now.columns if c not in ("person_id", "as_of")]
    model = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=15,
                               min_child_samples=20, subsample=0.8, subsample_freq=1,
                               colsample_bytree=0.8, random_state=0, n_jobs=2, verbose=-1)
    model.fit(train[feats], train["serious_harm"])
    scored = now[["person_id"]].copy()
    scored["score"] = model.predict_proba(now[feats])[:, 1]
    frame = attach_true_risk(attach_protected(scored, folder, AS_OF), folder, AS_OF)
    assert frame["true_risk"].notna().mean() > 0.99  # the oracle covers the scored population
    return frame


def _audit(frame, share=COHORT_SHARE):
    """Cohort = top ``share`` of scores; the equal-risk table by ethnicity."""
    from riskcohort.governance.equal_risk import equal_risk

    frame = frame.copy()
    k = int(round(share * len(frame)))
    frame["in_cohort"] = (frame["score"].rank(method="first", ascending=False) <= k).astype(int)
    return equal_risk(frame, "ethnicity", score_col="score")


@pytest.mark.slow
def test_recording_bias_raises_selection_at_equal_true_risk_and_unbiased_data_is_clean(
        tmp_path):
    from riskcohort.governance.equal_risk import flags

    unbiased = _audit(_scored(tmp_path / "unbiased", SEED, None))
    biased = _audit(_scored(tmp_path / "biased", SEED, GROUP))
    u = unbiased.set_index("group").loc[GROUP]
    b = biased.set_index("group").loc[GROUP]

    # unbiased data: no group is flagged at equal true risk
    assert flags(unbiased).empty, flags(unbiased)["reason"].tolist()
    assert not u["small"] and abs(u["ratio"] - 1) < 0.25
    # biased data: the group is judged (large enough), selected more often than people of the
    # same true risk, by more than without bias, and ranked higher at equal risk
    assert not b["small"] and b["members"] >= 50
    assert b["ratio"] > 1.0 and b["z"] > 0
    assert b["ratio"] - u["ratio"] > 0.1
    assert b["rank_shift"] - u["rank_shift"] > 0.5
    # other groups keep their (unbiased) treatment: none is flagged for the bias of another
    others = flags(biased)
    assert set(others["group"]) <= {GROUP}, others["reason"].tolist()


if __name__ == "__main__":  # the table in docs/governance.md: python -m ... SEED [SEED ...]
    import sys
    import tempfile
    from pathlib import Path

    from riskcohort.governance.equal_risk import flags

    for seed in map(int, sys.argv[1:] or [SEED]):
        for bias in (GROUP, None):
            with tempfile.TemporaryDirectory() as tmp:
                frame = _scored(Path(tmp), seed, bias)
            for share in (0.01, 0.02, 0.05):
                t = _audit(frame, share)
                r = t.set_index("group").loc[GROUP]
                print(f"seed={seed} bias={bias} k={share:.0%} n={len(frame)} "
                      f"members={r.members} selected={r.selected} expected={r.expected:.1f} "
                      f"ratio={r.ratio:.2f} p={r.p_value:.2g} rank_shift={r.rank_shift:+.1f} "
                      f"(z={r.rank_z:.1f}) flagged={flags(t)['group'].tolist()}", flush=True)
