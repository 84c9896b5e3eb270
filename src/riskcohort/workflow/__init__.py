"""riskcohort.workflow: the jobs, the one place that chains the stages.

``run`` (:func:`run_experiment`, :func:`run_and_track`), ``backtest`` (:func:`backtest`),
``retrain`` (:func:`retrain`) and ``score`` (:func:`score_registered`); ``demo`` chains these
(``riskcohort.demo``). Data flows one way, contract -> features -> modelling -> explain ->
tracking -> governance/app; each stage returns results in memory and the jobs write them through
:mod:`riskcohort.runfolder` (staged, then published whole). No stage imports this package; the
CLI command modules do.
"""

from riskcohort.workflow.backtest import backtest, backtest_dates
from riskcohort.workflow.retrain import RetrainResult, retrain
from riskcohort.workflow.run import check_quarantine, run_and_track, run_experiment
from riskcohort.workflow.score import score_registered

__all__ = ["run_experiment", "run_and_track", "check_quarantine", "backtest", "backtest_dates",
           "retrain", "RetrainResult", "score_registered"]
