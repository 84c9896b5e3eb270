"""Issue 20 item 13: a current setuptools is pinned, and the dependency audit of `make lint`
never passes silently (all pins unaudited = SKIPPED with a reason; a vulnerability fails)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _dep_audit():
    spec = importlib.util.spec_from_file_location("dep_audit", ROOT / "scripts" / "dep_audit.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_setuptools_pin_is_current():
    pins = dict(line.strip().split("==", 1) for line in
                (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    major, minor, *_ = (int(x) for x in pins["setuptools"].split("."))
    assert (major, minor) >= (78, 1)  # 65.5.0 had CVE-2022-40897, CVE-2024-6345, CVE-2025-47273
    assert "dep_audit.py" in (ROOT / "Makefile").read_text().split("lint:")[1].split("\n\n")[0]


def test_audit_verdicts(capsys):
    judge = _dep_audit().judge
    vuln = {"dependencies": [{"name": "setuptools", "version": "65.5.0", "vulns": [
        {"id": "PYSEC-2022-43012", "fix_versions": ["65.5.1"]}]}]}
    assert judge(vuln, "c.txt") == 1
    assert "PYSEC-2022-43012" in capsys.readouterr().out
    none_audited = {"dependencies": [{"name": "six", "version": "1.17.0",
                                      "skip_reason": "Dependency not found on PyPI"}]}
    assert judge(none_audited, "c.txt") == 0
    assert "SKIPPED" in capsys.readouterr().err
    clean = {"dependencies": [{"name": "six", "version": "1.17.0", "vulns": []},
                              {"name": "local", "version": "1", "skip_reason": "not found"}]}
    assert judge(clean, "c.txt") == 0
    out = capsys.readouterr().out
    assert "1 pins in c.txt audited" in out and "could not be audited: local" in out
