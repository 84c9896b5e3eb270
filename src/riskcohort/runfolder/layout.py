"""Every name in a run folder, declared once, and the schema version of the layout.

Why one place: the run folder is the contract between the stages (modelling writes it, explain
adds to it, tracking logs it, governance and the app read it). A file name written as a literal
in two modules is two contracts that drift apart; here it is one constant. Bump
:data:`SCHEMA_VERSION` whenever a file, a column or a record field changes meaning, so a reader
meets an old folder with a clear error instead of a guess.
"""

from __future__ import annotations

#: Version of the run-folder layout and of its records. 1 = the unversioned layout before it.
SCHEMA_VERSION = 2
#: Version of ``backtest.json`` (the summary beside a backtest's per-date run folders).
BACKTEST_SCHEMA_VERSION = 2

# --- files of a run folder (relative paths) -------------------------------------------------
MANIFEST = "run.json"  #: the manifest; the one file not listed in its own ``files``
METRICS = "metrics.json"  #: :class:`~riskcohort.runfolder.records.Metrics` (backtests)
SCORES = "scores.csv"  #: one row per scored person (:data:`SCORE_COLUMNS`)
FEATURES = "features.parquet"  #: person_id, as_of, the model's indicator columns
EVALUATION = "evaluation.parquet"  #: outcomes + every system's score (backtests only)
EXPLANATIONS = "explanations.parquet"  #: :data:`EXPLANATION_COLUMNS`, long format
EXPLANATION_SUMMARY = "explanations.json"  #: :class:`~.records.ExplanationSummary`
EVIDENCE = "evidence.parquet"  #: optional precomputed evidence (person_id, indicator, ...)
MODEL_DIR = "model"  #: model.txt, calibrator.json, feature_names.json (modelling.CohortModel)
MODEL_BOOSTER = "model/model.txt"
MODEL_FEATURE_NAMES = "model/feature_names.json"
MODEL_CALIBRATOR = "model/calibrator.json"
PLOTS_DIR = "plots"  #: global explanation plots (PNG + SVG)
VALIDATION_DIR = "validation"  #: validation.json and quarantine files of the input data
VALIDATION_REPORT = "validation/validation.json"

# --- attachments: derived files added after publication (see records.Manifest.attachments) -
REPORT_HTML = "report.html"  #: governance pack
REPORT_PDF = "report.pdf"
ATRS = "atrs.md"
PROMOTION_MD = "promotion.md"  #: retrain's promotion decision
PROMOTION_JSON = "promotion.json"

# --- a backtest folder ----------------------------------------------------------------------
BACKTEST = "backtest.json"  #: summary of a backtest; per-date run folders are ``<as_of>/``

# --- columns --------------------------------------------------------------------------------
KEY_COLUMNS = ("person_id", "as_of")
SCORE_COLUMNS = ("person_id", "as_of", "score", "rank", "in_cohort", "band")
#: Written by modelling beside SCORE_COLUMNS: ``tied`` (true when someone else has exactly the
#: same margin; tied people share the best rank of the tie and a tie at the cut-off is taken
#: whole), ``score_lo``/``score_hi`` (the model's 90% interval, ``CohortModel.predict_interval``),
#: ``in_custody`` (the features' flag: a custody period known at T started and not ended before
#: T; empty when custody is unknown) and ``days_since_custody_release`` (empty if never released).
SCORE_DETAIL_COLUMNS = ("tied", "score_lo", "score_hi", "in_custody", "days_since_custody_release")
OUTCOME_COLUMNS = ("serious_harm", "homicide", "harm_weight")
EVALUATION_KEYS = (*KEY_COLUMNS, *OUTCOME_COLUMNS)  #: then ``model``, baselines, ``oracle``
EXPLANATION_COLUMNS = ("person_id", "as_of", "indicator", "value", "contribution")
#: The system in metrics.json and evaluation.parquet that is the trained model.
MODEL_SYSTEM = "model"

# --- temporary siblings (never published, never logged) -------------------------------------
STAGING_PREFIX = ".staging-"  #: ``.<name>.staging-<random>`` next to the target folder
ASIDE_PREFIX = ".replaced-"  #: the old folder during an ``--overwrite``
