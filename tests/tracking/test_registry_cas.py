"""Alias moves are compare-and-set: one champion for concurrent first registrations, the first
model champion even after a kill between version creation and alias, stale decisions refused.

The model runs are minimal complete runs made with the client (what registration checks), so
the tests exercise the registry alone, in seconds."""

from __future__ import annotations

import pytest

from riskcohort.errors import UserError
from riskcohort.tracking import registry, store


def _complete_runs(c, n: int) -> list[str]:
    exp = store.get_or_create_experiment(c, "registry-test")
    ids = []
    for _ in range(n):
        run = c.create_run(exp, tags={"kind": "model", registry.COMPLETE_TAG: "true"})
        c.set_tag(run.info.run_id, registry.MODEL_URI_TAG, f"runs:/{run.info.run_id}/model")
        c.set_terminated(run.info.run_id, "FINISHED")
        ids.append(run.info.run_id)
    return ids


def _version_without_alias(c, run_id: str) -> int:
    """What a process killed right after ``create_model_version`` leaves: a version, no alias."""
    registry._ensure_registered_model(c)
    mv = c.create_model_version(registry.MODEL_NAME, source=f"runs:/{run_id}/model",
                                run_id=run_id)
    return int(mv.version)


def _alias(c, alias: str) -> int | None:
    mv = registry.current_version(c, alias)
    return None if mv is None else int(mv.version)


def test_first_model_stays_champion_after_kill_and_race(store_uri):
    c = store.client(store_uri)
    ids = _complete_runs(c, 2)
    v1 = _version_without_alias(c, ids[0])  # first run killed after creating its version
    v2 = _version_without_alias(c, ids[1])  # a concurrent first run, also before its alias
    assert _alias(c, registry.CHAMPION) is None
    # the second registration reaches the alias step first (the race that ended on v2)
    assert registry.register_model(ids[1], tracking_uri=store_uri) == v2
    assert (_alias(c, registry.CHAMPION), _alias(c, registry.CHALLENGER)) == (v1, v2)
    registry.register_model(ids[0], tracking_uri=store_uri)
    assert _alias(c, registry.CHAMPION) == v1


def test_incomplete_first_version_is_never_champion(store_uri):
    c = store.client(store_uri)
    ids = _complete_runs(c, 2)
    c.set_tag(ids[0], registry.COMPLETE_TAG, "false")  # e.g. its logging was interrupted
    _version_without_alias(c, ids[0])
    v2 = registry.register_model(ids[1], tracking_uri=store_uri)
    assert _alias(c, registry.CHAMPION) == v2


def test_alias_compare_and_set_refuses_a_stale_decision(store_uri):
    c = store.client(store_uri)
    ids = _complete_runs(c, 2)
    v1, v2 = (registry.register_model(i, tracking_uri=store_uri) for i in ids)
    assert _alias(c, registry.CHAMPION) == v1
    with pytest.raises(UserError, match=f"moved to version {v1}"):
        registry.set_alias(c, registry.CHAMPION, v2, expected=None)  # decided when none existed
    assert _alias(c, registry.CHAMPION) == v1
    registry.set_alias(c, registry.CHAMPION, v2, expected=v1)
    assert _alias(c, registry.CHAMPION) == v2
