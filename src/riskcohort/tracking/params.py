"""The parameters and tags an iteration is recorded with: enough to reproduce and audit it.

A reviewer looking at an MLflow run must be able to say which data (fingerprint), which code
(git commit, else package version), which library versions, which features and which settings
produced the cohort, without opening the run folder. Values are strings cut to MLflow's limit.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import re
import subprocess
from pathlib import Path

MAX_VALUE = 6000
PACKAGES = ("riskcohort", "mlflow", "lightgbm", "pandas", "numpy", "scikit-learn", "shap")
MANIFEST_PARAMS = ("experiment", "as_of", "data_dir", "horizon_days", "k", "seed", "backtest",
                   "absent_sources", "training_snapshots", "calibration", "created_at")


def _text(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def as_dict(config) -> dict:
    """A config object (dataclass, pydantic, mapping or plain object) as a dict."""
    if config is None:
        return {}
    if isinstance(config, dict):
        return dict(config)
    if callable(getattr(config, "as_dict", None)):
        return config.as_dict()
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if hasattr(config, "model_dump"):
        return config.model_dump()
    return {k: v for k, v in vars(config).items() if not k.startswith("_")}


def _flat(prefix: str, value, out: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flat(f"{prefix}.{key}", inner, out)
    else:
        out[re.sub(r"[^A-Za-z0-9_\-./ :]+", "_", prefix)[:250]] = _text(value)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that decide the numbers."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def git_commit(path: Path | None = None) -> str | None:
    """Commit of the source checkout, if this is one (local git only, never the network)."""
    where = path or Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def code_version(manifest: dict) -> str:
    """run.json's code_version, else the git commit, else the package version."""
    from riskcohort import __version__

    return str(manifest.get("code_version") or git_commit() or __version__)


def iteration_params(manifest: dict, config=None) -> dict[str, str]:
    """All params of an iteration run, flat ``{key: str}``.

    >>> p = iteration_params({"experiment": "e", "features": ["a", "b"],
    ...                       "hyperparameters": {"num_leaves": 7}}, {"k": 100})
    >>> p["features"], p["n_features"], p["hp.num_leaves"], p["config.k"]
    ('["a", "b"]', '2', '7', '100')
    """
    out: dict[str, str] = {}
    _flat("config", as_dict(config) or manifest.get("config") or {}, out)
    for key in MANIFEST_PARAMS:
        if key in manifest:
            out[key] = _text(manifest[key])
    _flat("hp", manifest.get("hyperparameters") or {}, out)
    features = list(manifest.get("features") or [])
    out["features"] = _text(features)
    out["n_features"] = str(len(features))
    out["data_fingerprint"] = _text(manifest.get("fingerprint", "unknown"))
    versions = {**package_versions(), **(manifest.get("versions") or {})}
    _flat("version", versions, out)
    out["code_version"] = code_version(manifest)
    return {k: v for k, v in out.items() if k}
