"""Dependency audit for `make lint`: pip-audit over the pinned versions in constraints.txt.

Works offline: the pins are audited as written (no resolution, no virtualenv, no downloads). When
no advisory database can be reached - the service is down or unreachable, or it answers for none
of the pins (a registry mirror without the vulnerability API makes pip-audit "skip" every package
and still say "No known vulnerabilities found") - the audit is SKIPPED with a one-line reason and
exit 0, never silently. Known vulnerabilities, or any other failure, exit 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Signs in pip-audit's output that the advisory service could not be reached at all.
UNREACHABLE = ("ConnectionError", "Max retries exceeded", "NameResolutionError",
               "Temporary failure in name resolution", "Name or service not known",
               "Network is unreachable", "Connection refused", "ConnectTimeout", "ReadTimeout",
               "timed out", "ProxyError", "No route to host")


def skipped(reason: str) -> int:
    print(f"dependency audit SKIPPED: {reason}", file=sys.stderr)
    return 0


def judge(report: dict, source: str) -> int:
    """Exit code from pip-audit's JSON report."""
    deps = report.get("dependencies", [])
    bad = [d for d in deps if d.get("vulns")]
    audited = [d for d in deps if "skip_reason" not in d]
    unaudited = [d for d in deps if "skip_reason" in d]
    if bad:
        for d in bad:
            for v in d["vulns"]:
                fix = ", ".join(v.get("fix_versions") or []) or "no fix yet"
                print(f"{d['name']} {d['version']}: {v.get('id')} (fixed in {fix})")
        print(f"dependency audit FAILED: {len(bad)} pinned packages in {source} have known "
              "vulnerabilities; bump their pins", file=sys.stderr)
        return 1
    if not audited:
        example = unaudited[0]["skip_reason"] if unaudited else "no packages"
        return skipped(f"no advisory database reachable: none of the {len(deps)} pins in "
                       f"{source} could be audited (e.g. {example})")
    note = (f"; {len(unaudited)} could not be audited: "
            f"{', '.join(d['name'] for d in unaudited[:10])}" if unaudited else "")
    print(f"dependency audit: {len(audited)} pins in {source} audited, no known "
          f"vulnerabilities{note}")
    return 0


def main(argv: list[str]) -> int:
    """Run the audit (on ``argv[0]`` or constraints.txt); return the exit code for make."""
    constraints = Path(argv[0]) if argv else ROOT / "constraints.txt"
    cmd = [sys.executable, "-m", "pip_audit", "-r", str(constraints), "--no-deps",
           "--disable-pip", "--progress-spinner", "off", "--timeout", "20", "-f", "json"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return skipped("the advisory database did not answer within 10 minutes")
    if "No module named pip_audit" in res.stderr:
        print("dependency audit FAILED: pip-audit is not installed (run `make install`)",
              file=sys.stderr)
        return 1
    try:
        report = json.loads(res.stdout)
    except ValueError:
        report = None
    if isinstance(report, dict) and res.returncode in (0, 1):
        return judge(report, constraints.name)
    out = (res.stdout + res.stderr).strip()
    if any(sign in out for sign in UNREACHABLE):
        last = next((ln for ln in reversed(out.splitlines()) if ln.strip()), "")
        return skipped(f"no advisory database reachable ({last[:160]})")
    print(out)
    print(f"dependency audit FAILED: pip-audit exited {res.returncode}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
