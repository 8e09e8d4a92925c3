"""cdk-nag inside the synthesis and checkov over the synthesized templates (issue 25).

Both stages pass cdk-nag's AwsSolutions pack with every finding fixed or acknowledged with a
reason; checkov finds no failed check but those skipped with the same reasons, and every skip
answers a finding checkov really reports (a scan of the templates without the skips).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from infra.stacks import accepted
from infra.stacks.scanners import Accepted, accept, accepted_findings, add_checks, findings_table
from tests.infra.conftest import Synth

REPO_ROOT = Path(__file__).resolve().parents[2]
# made by `make test` from requirements/scan.lock (its pins clash with the dev set)
CHECKOV = Path(os.environ.get("CATALOGUE_CHECKOV", REPO_ROOT / ".venv-scan" / "bin" / "checkov"))
README_START, README_END = "<!-- accepted-findings:start -->", "<!-- accepted-findings:end -->"


def nag_report(outdir: Path) -> dict[str, Any]:
    report = json.loads((outdir / "validation-report.json").read_text())
    [nag] = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    return dict(nag)


def test_both_stages_pass_cdk_nag_with_reasons_for_what_is_accepted(synth: Synth) -> None:
    nag = nag_report(synth.outdir)
    assert nag["conclusion"] == "success", nag["violations"]
    assert nag["violations"] == []
    acknowledged = [f for f in accepted_findings(synth.template) if f.scanner == "cdk-nag"]
    assert {f.rule for f in acknowledged} >= {"AwsSolutions-OS1", "AwsSolutions-COG2", "AwsSolutions-S1"}
    assert all(len(f.reason) >= 40 for f in acknowledged)


def test_cdk_nag_stops_the_synthesis_on_a_finding_nobody_acknowledged(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "unacknowledged"))
    add_checks(app)
    s3.Bucket(cdk.Stack(app, "Probe"), "Unlogged", enforce_ssl=True)
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    rules = {v["ruleName"] for v in nag_report(tmp_path / "unacknowledged")["violations"]}
    assert "AwsSolutions-S1" in rules  # no server access logs

    app = cdk.App(outdir=str(tmp_path / "acknowledged"))
    add_checks(app)
    bucket = s3.Bucket(cdk.Stack(app, "Probe"), "Unlogged", enforce_ssl=True)
    accept(bucket, Accepted("A probe bucket of this test, never deployed, holds nothing.", nag=("AwsSolutions-S1",)))
    app.synth()
    assert nag_report(tmp_path / "acknowledged")["conclusion"] == "success"


def test_every_iam_wildcard_needs_a_reason() -> None:
    document = {
        "Statement": [
            {
                "Action": ["s3:GetObject*", "s3:PutObject"],
                "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["B1", "Arn"]}, "/*"]]},
            },
            {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::someone-elses-bucket/*"},
        ]
    }
    findings = list(accepted._wildcards(document))
    assert findings == [
        "Action::s3:GetObject*",
        "Resource::<B1.Arn>/*",
        "Resource::arn:aws:s3:::someone-elses-bucket/*",
    ]
    assert "aws-cdk-lib's S3 grants" in accepted._reason(findings[0], "p")
    assert "Object keys" in accepted._reason(findings[1], "p")
    with pytest.raises(ValueError, match="no reason"):
        accepted._reason(findings[2], "p")  # another account's bucket: no pattern admits it


def run_checkov(templates: list[Path]) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(
            f"checkov is not installed at {CHECKOV}: `make test` installs it into .venv-scan (requirements/scan.lock)"
        )
    args = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for template in templates:
        args += ["--file", str(template)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    report = json.loads(done.stdout)
    return dict(report[0] if isinstance(report, list) else report)


def checks(report: dict[str, Any], kind: str) -> set[tuple[str, str, str]]:
    return {
        (Path(c["file_path"]).name, c["resource"].split(".", 1)[1], c["check_id"])
        for c in report["results"].get(kind, [])
    }


def without_checkov_skips(template: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(template))
    for resource in out["Resources"].values():
        (resource.get("Metadata") or {}).pop("checkov", None)
    return out


def test_checkov_fails_nothing_and_every_skip_answers_a_real_finding(dev: Synth, prod: Synth, tmp_path: Path) -> None:
    templates, raw = [], []
    for synth in (dev, prod):
        path = tmp_path / f"{synth.stage}.template.json"
        path.write_text(json.dumps(synth.template))
        templates.append(path)
        bare = tmp_path / f"{synth.stage}-unskipped.template.json"
        bare.write_text(json.dumps(without_checkov_skips(synth.template)))
        raw.append(bare)
    report = run_checkov(templates + raw)
    assert report["summary"]["parsing_errors"] == 0
    failed = checks(report, "failed_checks")
    skipped = checks(report, "skipped_checks")
    scanned = {t.name for t in templates}
    # the templates as synthesized: no failure at all
    assert {f for f in failed if f[0] in scanned} == set()
    # every skip written next to a construct was applied by checkov ...
    declared = {
        (f"{synth.stage}.template.json", f.resource, f.rule)
        for synth in (dev, prod)
        for f in accepted_findings(synth.template)
        if f.scanner == "checkov"
    }
    assert skipped == declared
    # ... and answers a check that fails without it
    unskipped = {(name.replace("-unskipped", ""), lid, check) for name, lid, check in failed if name not in scanned}
    assert declared == unskipped


def test_readme_lists_every_accepted_finding(dev: Synth, prod: Synth) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split(README_START, 1)[1].split(README_END, 1)[0]
    listed = [line for line in section.splitlines() if line.startswith("|")]
    expected = findings_table(accepted_findings(dev.template) + accepted_findings(prod.template))
    assert listed == expected, "regenerate: .venv/bin/python -m infra.stacks.scanners <dev and prod templates>"
