"""The backtest's stability table: one row per date against that date's best rule, then pooled."""

from types import SimpleNamespace

import numpy as np
from rich.console import Console

from riskcohort.modelling.metrics import evaluate
from riskcohort.modelling.pooled import pooled_topk
from riskcohort.modelling.report import stability_table


def _result(seed: int, as_of: str):
    rng = np.random.default_rng(seed)
    y = (rng.random(3000) < 0.05).astype(float)
    model = np.clip(0.05 + 0.3 * y + rng.normal(0, 0.1, 3000), 0.001, 0.999)
    rule = y * rng.random(3000) + rng.random(3000)
    m = evaluate(y, y * 10, np.zeros(3000), {"model": model, "matac_rfgv": rule}, ks=(100,),
                 n_boot=50, seed=seed)
    m.update(backtest=True, targets={"best_rule_recall": "matac_rfgv",
                                     "best_rule_auc": "matac_rfgv"})
    frame = {"serious_harm": y, "harm_weight": y * 10, "model": model, "matac_rfgv": rule}
    return SimpleNamespace(metrics=m, as_of=as_of), frame


def _text(table) -> str:
    console = Console(width=400, record=True)
    console.print(table)
    return console.export_text()


def test_rows_per_date_with_paired_differences_and_pooled_line():
    import pandas as pd

    (r1, f1), (r2, f2) = _result(1, "2025-01-01"), _result(2, "2025-07-01")
    pooled = pooled_topk([pd.DataFrame(f1), pd.DataFrame(f2)], ["model", "matac_rfgv"],
                         ks=(100,), n_boot=50)
    text = _text(stability_table([r1, r2], pooled, k=100))
    assert "2025-01-01" in text and "2025-07-01" in text and "pooled (2 dates)" in text
    diff = r1.metrics["differences"]["matac_rfgv"]["recall@100"]
    assert f"{100 * diff['value']:.1f} [{100 * diff['lo']:.1f}, {100 * diff['hi']:.1f}]" in text
    assert "MATAC RFG-V" in text


def test_a_date_without_outcome_window_is_said_so():
    res = SimpleNamespace(metrics={"backtest": False}, as_of="2026-10-01")
    assert "no outcome window" in _text(stability_table([res]))
