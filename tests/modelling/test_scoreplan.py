"""The scoring stage's memory plan: estimated from the population, refused before training."""

from __future__ import annotations

import pytest

from riskcohort.errors import UserError
from riskcohort.modelling import scoreplan


def test_estimate_counts_the_snapshot_twice_and_one_pass_in_flight():
    small, large = scoreplan.estimate(1_000, 100, None), scoreplan.estimate(4_000_000, 100, None)
    assert small.bytes == 1_000 * 100 * 16 + 1_000 * 600 + 1_000 * 100 * 8
    from riskcohort.features.engine import CHUNK_ROWS

    # above one pass, only the held part grows with the people
    assert large.bytes == 4_000_000 * (100 * 16 + 600) + CHUNK_ROWS * 100 * 8


def test_check_refuses_with_the_figures_and_passes_when_it_fits(caplog):
    with caplog.at_level("INFO"):
        scoreplan.check(scoreplan.estimate(1_000, 117, 10 ** 9))
    assert "~1,000 people x 117 indicators" in caplog.text
    with pytest.raises(UserError, match="scoring stage fits in memory") as err:
        scoreplan.check(scoreplan.estimate(3_200_000, 117, 2 * 1024 ** 3))
    assert "8.2 GB" in str(err.value) and "2.0 GB is available" in str(err.value)


def test_run_refused_before_the_training_set_is_built(dataset_factory, monkeypatch):
    """A run whose scoring cannot fit stops before training, not an hour into the job."""
    from riskcohort.modelling import trainset
    from riskcohort.modelling.config import ExperimentConfig
    from riskcohort.modelling.iteration import run_iteration

    def never(*args, **kwargs):
        raise AssertionError("the training set was built before the refusal")

    monkeypatch.setattr(trainset, "build_training_set", never)
    monkeypatch.setattr(trainset, "available_bytes", lambda: 1024)
    cfg = ExperimentConfig(name="t", path=None, data_dir=None, max_snapshots=18,
                           min_train_snapshots=2, seed=3)
    with pytest.raises(UserError, match="scoring stage fits in memory"):
        run_iteration(cfg, dataset_factory(n=300, seed=1), as_of="2022-10-01")
