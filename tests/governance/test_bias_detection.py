"""End to end: recording bias in the synthetic force -> rankings -> cohorts -> equal-risk audit.

Why: issue 8 asks that bias detection be real, not only tested on constructed scores. The same
seed is simulated twice, without and with ``--bias-group black --bias-rate 1.0`` (every
non-serious incident of a known black perpetrator is recorded); the latent world and the true
risk are identical, only the records differ. Each run: features at 2024-09-01 and 2025-03-01
(labels known by 2026-09-01) train a LightGBM; at 2026-09-01 the model and the rule baselines
(DASH/DARA, MATAC, V100, iteration 2, the incumbent file) rank the ~116,000 scored people; true
risk from ``_truth/risk.parquet``, ethnicity and sex from persons; then the pack's
``equal_risk.by_system`` (each ranking cut at k = 100 and at the top 2%, ~2,320) and ``flags``.

Measured (`force`, top 2%, black group; ratio observed / expected at equal true risk), with
bias / without (z in docs/governance.md, seeds 0-4):

=====  ==============  ==============  ==============  ==============  ==============
seed   model           iteration 2     MATAC RFGV      V100 harm       DASH/DARA
=====  ==============  ==============  ==============  ==============  ==============
0      1.26 / 1.08     2.05 / 0.99     1.77 / 0.93     1.47 / 1.11     1.39 / 0.99
1      1.29 / 0.91     2.06 / 0.97     1.92 / 0.97     1.42 / 0.94     1.44 / 0.97
2      1.08 / 0.92     2.04 / 1.00     1.85 / 1.00     1.38 / 0.96     1.28 / 0.98
=====  ==============  ==============  ==============  ==============  ==============

So the audit flags the bias where it changes who is selected - the volume-driven rankings forces
use today (z 8-12 for iteration 2 and MATAC) - and flags nothing on unbiased data; the model's own
excess (1.07-1.29, z 0.7-3.4) is smaller because it leans on severity markers rather than on
counts, and is flagged only when material and significant (see docs/governance.md). ~2-3 minutes
on 2 cores.
"""

from __future__ import annotations

import pandas as pd
import pytest

GROUP = "black"
AS_OF = pd.Timestamp("2026-09-01")
TRAIN_MONTHS_BEFORE = (12, 18)
K = 100
SEED = 0
VOLUME_RULES = ("iteration_2", "matac_rfgv")  # rankings built on counts of recorded incidents


def _scored(folder, seed, bias_group):
    """Simulate ``force`` (seed, bias), train, score at AS_OF with the model and the baselines;
    ethnicity, sex and true risk joined, as the pack's ``audit_frame`` does."""
    import lightgbm as lgb

    from riskcohort.contract import load_dataset
    from riskcohort.features import build
    from riskcohort.governance.protected import attach_protected, attach_true_risk
    from riskcohort.modelling import baselines
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
    base = baselines.compute(now, ds, AS_OF.date(), 31)
    systems = {"model": "score"}
    for col in base.columns:
        if col != "oracle" and base[col].notna().any():
            scored[f"score_{col}"] = base[col].to_numpy()
            systems[col] = f"score_{col}"
    frame = attach_true_risk(attach_protected(scored, folder, AS_OF), folder, AS_OF)
    assert frame["true_risk"].notna().mean() > 0.99  # the oracle covers the scored population
    frame.attrs["systems"] = systems
    return frame


def _audit(frame):
    """The pack's check: every ranking at k and at the top 2%, by ethnicity and sex."""
    from riskcohort.governance.equal_risk import by_system

    return by_system(frame, frame.attrs["systems"], K)


def _row(table, system, group=GROUP):
    wide = table["cohort"].max()
    t = table[(table["system"] == system) & (table["cohort"] == wide)]
    return t[t["group"] == group].iloc[0]


@pytest.mark.slow
def test_audit_flags_recording_bias_at_equal_true_risk_and_nothing_on_unbiased_data(tmp_path):
    from riskcohort.governance.equal_risk import cutoffs, equal_risk, flags, top_k_share

    unbiased_frame = _scored(tmp_path / "unbiased", SEED, None)
    biased_frame = _scored(tmp_path / "biased", SEED, GROUP)
    unbiased, biased = _audit(unbiased_frame), _audit(biased_frame)
    assert cutoffs(len(biased_frame), K)[-1] > 2000  # the wide look is the top 2% (~2,320)

    # unbiased data: no ranking selects any ethnic group or sex differently at equal true risk
    assert flags(unbiased).empty, flags(unbiased)["reason"].tolist()
    # biased data: the bias is flagged - in the rankings built on recorded volume, which it
    # inflates most - and only for the group with the bias
    found = flags(biased)
    assert set(found["group"]) == {GROUP}, found["reason"].tolist()
    assert set(VOLUME_RULES) <= set(found["system"]), found["reason"].tolist()
    for rule in VOLUME_RULES:
        b, u = _row(biased, rule), _row(unbiased, rule)
        assert not b["small"] and b["ratio"] > 1.5 and b["z"] > 4 and abs(u["ratio"] - 1) < 0.25
    # the model: selected more often than people of the same true risk when the records are
    # biased, more than without bias and ranked higher at equal risk - but far less than the
    # volume rules, because it leans on severity markers rather than on counts
    bm, um = _row(biased, "model"), _row(unbiased, "model")
    assert bm["ratio"] > 1.0 and bm["ratio"] - um["ratio"] > 0.1
    assert bm["ratio"] < min(_row(biased, r)["ratio"] for r in VOLUME_RULES)
    shift = {}
    for name, frame in (("biased", biased_frame), ("unbiased", unbiased_frame)):
        f = frame.assign(in_cohort=top_k_share(frame["score"].to_numpy(), K))
        t = equal_risk(f, "ethnicity", score_col="score").set_index("group")
        shift[name] = t.loc[GROUP, "rank_shift"]
    assert shift["biased"] - shift["unbiased"] > 0.5


if __name__ == "__main__":  # the table in docs/governance.md: python -m ... SEED [SEED ...]
    import sys
    import tempfile
    from pathlib import Path

    from riskcohort.governance.equal_risk import flags

    for seed in map(int, sys.argv[1:] or [SEED]):
        for bias in (GROUP, None):
            with tempfile.TemporaryDirectory() as tmp:
                frame = _scored(Path(tmp), seed, bias)
            t = _audit(frame)
            cells = [f"{s}={_row(t, s).ratio:.2f} (z={_row(t, s).z:+.1f})"
                     for s in frame.attrs["systems"]]
            found = flags(t)
            flagged = sorted(set(zip(found["system"], found["group"], strict=True)))
            print(f"seed={seed} bias={bias} top {t['cohort'].max()} of {len(frame)}: "
                  + ", ".join(cells) + f"; flagged={flagged}", flush=True)
