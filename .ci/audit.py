"""Dependency audit for CI: pip-audit on the installed environment; fails on any known vulnerability.

pip-audit asks PyPI's JSON API (or OSV) about each installed package. On a network that reaches only a package
index, every package then comes back "not found on PyPI" and pip-audit reports "No known vulnerabilities
found" with exit status 0, which would look like a clean audit. So this script first checks that the service
answers for a package that surely exists, and reads pip-audit's JSON report: when nothing could be audited, it
says that the audit could not run, and why, and exits 0. Otherwise any vulnerability fails the build.

    .venv/bin/python .ci/audit.py [--service pypi|osv]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

PROBES = {
    # A package and version that exist on PyPI: its JSON carries a "vulnerabilities" list (possibly empty).
    "pypi": ("https://pypi.org/pypi/pip/24.0/json", None),
    "osv": ("https://api.osv.dev/v1/query", {"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "24.0"}),
}
EXPECTED_KEY = {"pypi": "vulnerabilities", "osv": None}
NOT_RUN = "pip-audit: the dependency audit could not run"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def probe(url: str, body: dict[str, Any] | None, key: str | None, timeout_s: float = 15.0) -> str | None:
    """``None`` when the vulnerability service answers as it should; otherwise why it does not."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=timeout_s) as r:
            answer = json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return f"{url} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url} is unreachable ({getattr(exc, 'reason', exc)})"
    except ValueError:
        return f"{url} did not answer JSON"
    if not isinstance(answer, dict) or (key is not None and key not in answer):
        return f"{url} did not answer with vulnerability data"
    return None


def summarize(report: dict[str, Any]) -> tuple[list[str], int, int]:
    """(one line per vulnerability, packages audited, packages skipped) from pip-audit's JSON report."""
    found: list[str] = []
    audited = skipped = 0
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency:
            skipped += 1
            continue
        audited += 1
        for vuln in dependency.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            aliases = ", ".join(vuln.get("aliases", []))
            found.append(
                f"{dependency['name']} {dependency['version']}: {vuln['id']}"
                + (f" ({aliases})" if aliases else "")
                + f"; fixed in {fixes}"
            )
    return found, audited, skipped


def run_pip_audit(service: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip_audit", "--local", "--skip-editable", "--progress-spinner", "off"]
        command += ["--vulnerability-service", service, "--format", "json", "--output", str(out)]
        # Exit status 1 means "vulnerabilities found" as well as "failed": the report tells them apart.
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if not out.exists():
            sys.stderr.write(result.stderr)
            raise SystemExit(f"pip-audit failed (exit status {result.returncode}) and wrote no report")
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=sorted(PROBES), default=os.environ.get("PIP_AUDIT_SERVICE", "pypi"))
    args = parser.parse_args(argv)
    url, body = PROBES[args.service]
    url = os.environ.get("PIP_AUDIT_PROBE_URL", url)  # lets the tests point the probe at a closed port
    reason = probe(url, body, EXPECTED_KEY[args.service])
    if reason is not None:
        say(f"{NOT_RUN}: the vulnerability service is not reachable from here: {reason}")
        return 0
    found, audited, skipped = summarize(run_pip_audit(args.service))
    if audited == 0:
        say(f"{NOT_RUN}: the vulnerability service answered for none of the {skipped} installed packages")
        return 0
    if found:
        say(f"pip-audit: {len(found)} known vulnerabilities in the installed packages:")
        say("\n".join(f"  {line}" for line in found))
        return 1
    say(f"pip-audit: no known vulnerabilities in {audited} packages ({skipped} could not be audited)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
