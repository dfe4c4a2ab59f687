"""pip-audit of every pinned dependency (requirements/constraints.txt and requirements/checkov.txt).

A known vulnerability fails the audit unless requirements/audit-explained.txt names its id with the reason it does
not apply to us (one ``ID  reason`` per line). A package the vulnerability service could not be asked about (no
network to PyPI's JSON API or OSV, as on the development machines) is listed and counted, never silently passed:
the audit then says it could not vouch for those packages and exits 0, so an offline machine does not fail CI,
and a machine that can reach the service gets the real verdict.

    python tools/audit/audit.py            (make audit; .ci/run runs it after the tests)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "requirements/constraints.txt", ROOT / "requirements/checkov.txt"]
EXPLAINED = ROOT / "requirements/audit-explained.txt"


def explained() -> dict[str, str]:
    out = {}
    if EXPLAINED.exists():
        for line in EXPLAINED.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                vuln, _, reason = line.partition(" ")
                out[vuln] = reason.strip()
    return out


def audit(path: Path, known: dict[str, str]) -> tuple[list[str], list[str], int]:
    """(unexplained findings, packages not audited, packages audited) for one requirements file."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        cmd = [sys.executable, "-m", "pip_audit", "-r", str(path), "--no-deps", "--disable-pip",
               "--progress-spinner", "off", "-f", "json", "-o", report.name]
        for vuln in known:
            cmd += ["--ignore-vuln", vuln]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        try:
            data = json.loads(Path(report.name).read_text() or "{}")
        except json.JSONDecodeError:
            data = {}
    if not data:  # pip-audit itself failed (e.g. the service is unreachable for every package)
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return [], [f"all of {path.name}: {tail[0]}"], 0
    findings, skipped, audited = [], [], 0
    for dep in data.get("dependencies", []):
        if "skip_reason" in dep:
            skipped.append(f"{dep['name']}: {dep['skip_reason']}")
            continue
        audited += 1
        for v in dep.get("vulns", []):
            if v["id"] not in known and not set(v.get("aliases", [])) & set(known):
                findings.append(f"{dep['name']} {dep['version']}: {v['id']} (fixed in {v.get('fix_versions')})"
                                f" {v.get('description', '')[:160]}")
    return findings, skipped, audited


def main() -> int:
    known = explained()
    failed = False
    for path in FILES:
        findings, skipped, audited = audit(path, known)
        print(f"pip-audit {path.relative_to(ROOT)}: {audited} packages audited, {len(findings)} unexplained "
              f"vulnerabilities, {len(skipped)} not audited, {len(known)} explained in {EXPLAINED.name}")
        for f in findings:
            print(f"  VULNERABLE {f}")
        if skipped:
            print(f"  NOT AUDITED (the vulnerability service could not be asked; first: {skipped[0]})")
        failed |= bool(findings)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
