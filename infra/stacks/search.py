"""The OpenSearch domain: encrypted, HTTPS with TLS 1.2+, its logs in CloudWatch Logs, and
reachable by the Lambda role only.

Access: the domain's resource policy names the Lambda role as its only principal (written on
the domain itself, a property of ``AWS::OpenSearchService::Domain``, not by CDK's custom
resource), and the role's identity policy allows the HTTP actions on the domain: a request
needs both, so it must be SigV4-signed by that role. No fine-grained access control, no master
user, no password in any environment variable.

Logs: application (error) logs and the search and index slow logs, each to its own log group
with the stage's retention; one CloudWatch Logs resource policy lets the OpenSearch service
write to those groups only (CDK's own policy would be a custom resource with a Lambda).
Audit logs need fine-grained access control (accepted, with the reason, below).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch

from infra.stacks.naming import Names
from infra.stacks.observability import log_group
from infra.stacks.scanners import Accepted, accept
from infra.stacks.settings import OpenSearchSizing

DOMAIN = "catalogue"  # 3-28 characters with the stage: catalogue-dev, catalogue-prod
LOG_TYPES = {"app": "application", "search": "search-slow", "index": "index-slow"}


def build_search_domain(
    stack: Stack, names: Names, sizing: OpenSearchSizing, removal: RemovalPolicy, days: int
) -> opensearch.Domain:
    """The domain ``catalogue-<stage>`` (named, so that its resource policy can name it without
    referring to the domain's own ARN, which CloudFormation would refuse as a cycle)."""
    groups = {
        kind: log_group(
            stack, f"Search{kind.title()}Logs", f"/aws/opensearch/{stack.stack_name}/{suffix}", days, removal
        )
        for kind, suffix in LOG_TYPES.items()
    }
    domain = opensearch.Domain(
        stack,
        "SearchDomain",
        domain_name=names.regional(DOMAIN),
        version=opensearch.EngineVersion.OPENSEARCH_2_19,
        capacity=opensearch.CapacityConfig(
            data_nodes=sizing.instance_count,
            data_node_instance_type=sizing.instance_type,
            multi_az_with_standby_enabled=False,
        ),
        zone_awareness=opensearch.ZoneAwarenessConfig(enabled=sizing.instance_count > 1),
        ebs=opensearch.EbsOptions(volume_size=sizing.volume_gb, volume_type=ec2.EbsDeviceVolumeType.GP3),
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
        node_to_node_encryption=True,
        enforce_https=True,
        tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
        logging=opensearch.LoggingOptions(
            app_log_enabled=True,
            app_log_group=groups["app"],
            slow_search_log_enabled=True,
            slow_search_log_group=groups["search"],
            slow_index_log_enabled=True,
            slow_index_log_group=groups["index"],
        ),
        suppress_logs_resource_policy=True,
        removal_policy=removal,
    )
    policy = logs.ResourcePolicy(
        stack,
        "SearchLogsPolicy",
        resource_policy_name=f"{stack.stack_name}-opensearch-logs",
        policy_statements=[
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("es.amazonaws.com")],
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{group.log_group_arn}" for group in groups.values()],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        ],
    )
    domain.node.add_dependency(policy)  # the domain checks it may write to its log groups
    accept(domain, NO_VPC)
    accept(domain, NO_IP_ALLOWLIST)
    accept(domain, NO_FINE_GRAINED_ACCESS)
    if sizing.instance_count < 3:
        accept(domain, NO_DEDICATED_MASTERS)
    if sizing.instance_count < 2:
        accept(domain, SINGLE_NODE)
    return domain


def restrict_domain_to(domain: opensearch.Domain, name: str, role: iam.IRole) -> None:
    """The domain's resource policy: ``role`` may send HTTP requests to the indexes of the domain
    called ``name`` (a plain string: the domain's own name or ARN would be a reference to itself)."""
    resource = domain.node.default_child
    assert isinstance(resource, opensearch.CfnDomain)
    resource.access_policies = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": role.role_arn},
                "Action": "es:ESHttp*",
                "Resource": Stack.of(domain).format_arn(service="es", resource="domain", resource_name=f"{name}/*"),
            }
        ],
    }


NO_VPC = Accepted(
    "The domain is outside a VPC: only SigV4 requests of the Lambda role reach it (resource and identity "
    "policy), over HTTPS with TLS 1.2+. A VPC would put the functions in it too, adding NAT gateways "
    "(about $33 a month each) and cold-start time.",
    nag=("AwsSolutions-OS1",),
)
NO_IP_ALLOWLIST = Accepted(
    "Access is granted to one IAM role (the Lambda functions'), not to addresses: Lambda has no fixed source "
    "addresses to allow.",
    nag=("AwsSolutions-OS3",),
)
NO_FINE_GRAINED_ACCESS = Accepted(
    "No fine-grained access control: the only principal is the Lambda role, and per-caller visibility is "
    "enforced by the catalogue in every query. Audit logs need fine-grained access control; every change "
    "is in the catalogue's own audit table instead.",
    nag=("AwsSolutions-OS5",),
    checkov=("CKV_AWS_317",),
)
NO_DEDICATED_MASTERS = Accepted(
    "Fewer than three data nodes: AWS recommends dedicated master nodes for larger clusters; three would "
    "cost more than the data nodes (set opensearch.instance_count >= 3 and add them when the index grows).",
    nag=("AwsSolutions-OS4",),
)
SINGLE_NODE = Accepted(
    "A single data node (dev): no second zone to spread over. The index is rebuilt from the tables "
    "(catalogue-admin reindex) if the node is lost.",
    nag=("AwsSolutions-OS7",),
)
