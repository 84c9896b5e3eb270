"""Evaluation of tabular mode on the test rows: the shared metrics and the shared fairness audit.

Nothing here is tabular-specific arithmetic: the numbers come from
:func:`riskcohort.modelling.metrics.evaluate` and :func:`riskcohort.governance.fairness.audit`, so
a force comparing a tabular run with an event-pipeline run compares like with like. A person-level
table has no crime-harm weights, so ``harm@k`` is computed on the label (it then equals
``recall@k``); homicide counts are not available and are reported as zero with a note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskcohort.governance import fairness
from riskcohort.modelling.metrics import evaluate
from riskcohort.tabular.roles import Roles


def cohort_sizes(k: int, n_test: int) -> tuple[int, ...]:
    """Half, one and two cohorts, capped by the test rows.

    >>> cohort_sizes(100, 1000), cohort_sizes(100, 120)
    ((50, 100, 200), (50, 100, 120))
    """
    return tuple(sorted({max(1, min(size, n_test)) for size in (k // 2, k, 2 * k)}))


def top_k(score: np.ndarray, k: int) -> np.ndarray:
    """1 for the ``k`` highest scores (stable: earlier rows win ties), else 0."""
    order = np.argsort(-score, kind="stable")
    selected = np.zeros(len(score), dtype=int)
    selected[order[:k]] = 1
    return selected


def evaluate_test_rows(test: pd.DataFrame, y: np.ndarray, p_model: np.ndarray,
                       baselines: dict[str, np.ndarray], roles: Roles, k: int = 100,
                       n_boot: int = 500, seed: int = 0) -> dict:
    """Metrics for the model and each baseline on the same test rows, plus the fairness audit."""
    ks = cohort_sizes(k, len(y))
    result = evaluate(y, y.astype(float), np.zeros(len(y)), {"model": p_model, **baselines},
                      ks=ks, n_boot=n_boot, seed=seed, probabilities=("model",))
    result["notes"] = ["harm@k uses the label as the harm (no crime-harm weights in a table)",
                       "homicides are not identified in a table and are reported as zero"]
    cohort = min(k, len(y))
    audit_frame = pd.DataFrame({"score": p_model, "in_cohort": top_k(p_model, cohort),
                                "serious_harm": y})
    result["fairness"], result["fairness_flags"] = {}, []
    for col in roles.protected:
        audit_frame[col] = test[col].to_numpy()
        table = fairness.audit(audit_frame, col, n_boot=min(n_boot, 300), seed=seed)
        result["fairness"][col] = table.to_dict(orient="records")
        result["fairness_flags"] += fairness.flags(table)["reason"].tolist()
    result["cohort_size"] = cohort
    return result
