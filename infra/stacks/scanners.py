"""The two scanners a security review runs over the stack, and the findings this project accepts.

- **cdk-nag** (the AwsSolutions pack) runs inside synthesis: :func:`add_checks` registers it as
  a CDK validation plugin, and ``app.synth()`` then raises ``ValidationFailed`` on any finding
  not acknowledged (the report is ``cdk.out/validation-report.json``). ``make synth`` and
  ``tests/infra`` both synthesize through :func:`infra.cdk_app.build`, which calls it.
- **checkov** scans the synthesized template afterwards (``tests/infra/test_checkov.py``, in
  ``make test``; it has its own lock and virtualenv, ``requirements/scan.lock``). It reads skips
  from each resource's ``Metadata.checkov.skip``.

A finding accepted rather than fixed is an :class:`Accepted`: one reason, the nag rules and the
checkov checks it answers. :func:`accept` is called next to the construct concerned and writes
both, so the two scanners carry the same reason. The acknowledgments reach the template too
(``Metadata.cdk_nag.rules_to_suppress``), and :func:`accepted_findings` reads both back from a
template: README "Security of the deployment" lists them (``python -m infra.stacks.scanners
infra/cdk.out/dev.template.json ...`` prints the table; ``tests/infra/test_scanners.py`` checks
it is complete and true).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

NAG_PACK = "AwsSolutions"


@dataclass(frozen=True)
class Accepted:
    """A finding this project accepts, with the reason a reviewer reads.

    ``nag``: AwsSolutions rule ids (``AwsSolutions-OS1``; a rule that reports one finding per
    permission or log type takes the finding too: ``AwsSolutions-IAM5[Resource::*]``).
    ``checkov``: checkov check ids (``CKV_AWS_117``)."""

    reason: str
    nag: tuple[str, ...] = ()
    checkov: tuple[str, ...] = ()


def add_checks(app: cdk.App) -> None:
    """Run the AwsSolutions pack in ``app``'s synthesis (it fails on unacknowledged findings)."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))


def accept(constructs: IConstruct | Sequence[IConstruct], accepted: Accepted) -> None:
    """Acknowledge ``accepted`` (nag) and skip its checks (checkov) on each construct's
    CloudFormation resource: an L2 construct's default child, or the construct itself when it
    is a ``CfnResource``."""
    targets: Sequence[IConstruct] = constructs if isinstance(constructs, (list, tuple)) else [constructs]  # type: ignore[list-item]
    for construct in targets:
        # on the CloudFormation resource itself: an acknowledgment on an L2 construct would also
        # cover every resource under it (a user pool's clients and groups)
        resource = _cfn_resource(construct)
        if accepted.nag:
            cdk.Validations.of(resource).acknowledge(
                *(cdk.Acknowledgment(id=f"{NAG_PACK}::{rule}", reason=accepted.reason) for rule in accepted.nag)
            )
        if accepted.checkov:
            _skip_checkov(resource, accepted)


def _cfn_resource(construct: IConstruct) -> cdk.CfnResource:
    if isinstance(construct, cdk.CfnResource):
        return construct
    child = construct.node.default_child
    if not isinstance(child, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to carry checkov skips")
    return child


def _skip_checkov(resource: cdk.CfnResource, accepted: Accepted) -> None:
    # one Metadata.checkov entry per resource: later calls add to the skips of earlier ones
    current = resource.get_metadata("checkov") or {}
    skips = list(current.get("skip", []))
    known = {s["id"] for s in skips}
    skips += [{"id": check, "comment": accepted.reason} for check in accepted.checkov if check not in known]
    resource.add_metadata("checkov", {**current, "skip": skips})


@dataclass(frozen=True)
class Finding:
    """One accepted finding as the template records it."""

    scanner: str  # "cdk-nag" or "checkov"
    rule: str
    resource: str  # logical id
    reason: str


def accepted_findings(template: dict[str, Any]) -> list[Finding]:
    """Every acknowledgment and skip recorded in a synthesized template's resource metadata."""
    out: list[Finding] = []
    for logical_id, resource in template.get("Resources", {}).items():
        meta = resource.get("Metadata") or {}
        for rule in (meta.get("cdk_nag") or {}).get("rules_to_suppress", []):
            # aws-cdk-lib acknowledges some template-validation warnings of its own
            # (CloudFormation-Validate::...): not this project's acceptance, not listed
            if str(rule["id"]).startswith(f"{NAG_PACK}::"):
                rule_id = str(rule["id"]).removeprefix(f"{NAG_PACK}::")
                out.append(Finding("cdk-nag", rule_id, logical_id, str(rule["reason"])))
        for skip in (meta.get("checkov") or {}).get("skip", []):
            out.append(Finding("checkov", str(skip["id"]), logical_id, str(skip["comment"])))
    return out


def findings_table(findings: Iterable[Finding]) -> list[str]:
    """Markdown rows, one per reason, with the rules of both scanners it answers and how many
    resources carry it (README "Security of the deployment"; the IAM5 findings, one per
    wildcard, are counted under their rule)."""
    by_reason: dict[str, tuple[set[str], set[str]]] = {}
    for f in findings:
        rules, resources = by_reason.setdefault(f.reason, (set(), set()))
        rules.add(f.rule.split("[")[0])
        resources.add(f.resource)
    rows = ["| Rules | Resources | Reason |", "|---|---|---|"]
    for reason, (rules, resources) in sorted(by_reason.items(), key=lambda item: (sorted(item[1][0]), item[0])):
        rows.append(f"| {', '.join(sorted(rules))} | {len(resources)} | {reason} |")
    return rows


def main(argv: Sequence[str]) -> None:
    """Print the README's table of accepted findings from synthesized templates."""
    findings: list[Finding] = []
    for path in argv:
        findings += accepted_findings(json.loads(Path(path).read_text()))
    print("\n".join(findings_table(findings)))


if __name__ == "__main__":
    main(sys.argv[1:])
