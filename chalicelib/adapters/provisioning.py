"""Creating AWS resources with boto3: buckets, queues, the state machine, stream ARNs,
the Cognito user pool, its app clients and resource server, the change feed's event bus.

For the local stack and the tests only (the CDK stack creates them in AWS); every function
takes its client and is idempotent, as :mod:`chalicelib.bootstrap`, which decides what to
create, relies on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code

# moto does not check roles; a well-formed ARN is all it needs
LOCAL_ROLE_ARN = "arn:aws:iam::123456789012:role/catalogue-archive-local"


# The local user pool's password policy (the CDK stack sets AWS's pool's own).
PASSWORD_POLICY: dict[str, Any] = {
    "MinimumLength": 12,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": False,
}


@dataclass(frozen=True)
class CreatedQueue:
    url: str
    arn: str


@dataclass(frozen=True)
class CreatedUserPool:
    """A Cognito user pool and its app client (for
    :class:`~chalicelib.adapters.identity.CognitoIdentityProvider`)."""

    pool_id: str
    client_id: str


@dataclass(frozen=True)
class CreatedServiceClient:
    """A confidential app client for the OAuth2 client-credentials grant."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


def create_bucket(s3: Any, bucket: str, region: str) -> None:
    """Create ``bucket`` in ``region``; an existing bucket of ours is fine."""
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3.create_bucket(Bucket=bucket, **config)
    except ClientError as exc:
        if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def notify_queue(s3: Any, bucket: str, queue_arn: str) -> None:
    """Send ``bucket``'s object created/removed events to the queue ``queue_arn``."""
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]
        },
    )


def create_queue_with_dead_letters(
    sqs: Any, name: str, dlq_name: str, *, visibility_timeout: int, max_receive_count: int
) -> CreatedQueue:
    """The queue ``name`` whose messages move to the queue ``dlq_name`` after
    ``max_receive_count`` receives (both created when missing)."""
    dlq_url = sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": max_receive_count})
    url = str(
        sqs.create_queue(
            QueueName=name,
            Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive},
        )["QueueUrl"]
    )
    return CreatedQueue(url=url, arn=_queue_arn(sqs, url))


def ensure_event_queue(events: Any, sqs: Any, *, bus: str, rule: str, source: str, queue: str) -> CreatedQueue:
    """The event bus ``bus``, its rule ``rule`` matching the events whose source is
    ``source``, and the queue ``queue`` as the rule's one target, with a policy letting that
    rule send to it (moto does not check the policy; AWS does). The bus and queue are created
    when missing; the rule, its target and the policy are set every time.

    ``events`` is a boto3 ``events`` client, ``sqs`` an SQS one.
    """
    try:
        events.create_event_bus(Name=bus)
    except ClientError as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise
    pattern = json.dumps({"source": [source]})
    rule_arn = str(events.put_rule(Name=rule, EventBusName=bus, EventPattern=pattern, State="ENABLED")["RuleArn"])
    url = str(sqs.create_queue(QueueName=queue)["QueueUrl"])
    arn = _queue_arn(sqs, url)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": queue[:64], "Arn": arn}])
    return CreatedQueue(url=url, arn=arn)


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def ensure_state_machine(sfn: Any, name: str, definition: str, role_arn: str = LOCAL_ROLE_ARN) -> str:
    """Create the state machine ``name`` with ``definition``, or update the one of that name;
    return its ARN."""
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                sfn.update_state_machine(stateMachineArn=machine["stateMachineArn"], definition=definition)
                return str(machine["stateMachineArn"])
    return str(sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn)["stateMachineArn"])


def stream_arn(dynamodb: Any, table: str) -> str:
    """The ARN of ``table``'s latest DynamoDB stream."""
    return str(dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"])


def ensure_user_pool(cognito: Any, name: str) -> CreatedUserPool:
    """The user pool ``name`` (:data:`PASSWORD_POLICY`, case-sensitive usernames, emails
    verified automatically) and its app client ``<name>-client`` (no secret, password
    sign-in (``USER_PASSWORD_AUTH``) and refresh, unknown users told apart from wrong passwords), each
    created unless one of that name exists (the first one found is used).

    ``cognito`` is a boto3 ``cognito-idp`` client.
    """
    pool_id = _find(
        cognito.get_paginator("list_user_pools").paginate(PaginationConfig={"PageSize": 60}), "UserPools", "Name", name
    )
    if pool_id is None:
        pool_id = str(
            cognito.create_user_pool(
                PoolName=name,
                Policies={"PasswordPolicy": PASSWORD_POLICY},
                AutoVerifiedAttributes=["email"],
                UsernameConfiguration={"CaseSensitive": True},
            )["UserPool"]["Id"]
        )
    client_name = f"{name}-client"
    clients = cognito.get_paginator("list_user_pool_clients").paginate(UserPoolId=pool_id)
    client_id = _find(clients, "UserPoolClients", "ClientName", client_name)
    if client_id is None:
        client_id = str(
            cognito.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName=client_name,
                GenerateSecret=False,
                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                # the API's default, stated: sign-in says "no such user" rather than
                # "wrong password" for an unknown user (the identity port relies on it)
                PreventUserExistenceErrors="LEGACY",
            )["UserPoolClient"]["ClientId"]
        )
    return CreatedUserPool(pool_id=pool_id, client_id=client_id)


def ensure_resource_server(cognito: Any, pool_id: str, identifier: str, name: str, scopes: dict[str, str]) -> None:
    """The resource server ``identifier`` of the pool ``pool_id`` with ``scopes`` (scope name:
    description), created unless it exists (then left as it is)."""
    try:
        cognito.describe_resource_server(UserPoolId=pool_id, Identifier=identifier)
        return
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    cognito.create_resource_server(
        UserPoolId=pool_id,
        Identifier=identifier,
        Name=name,
        Scopes=[{"ScopeName": scope, "ScopeDescription": text} for scope, text in scopes.items()],
    )


def ensure_service_client(
    cognito: Any, pool_id: str, name: str, scopes: list[str], *, access_token_minutes: int = 60
) -> CreatedServiceClient:
    """The app client ``name`` of the pool ``pool_id``: a secret, the client-credentials
    grant only, ``scopes`` (``<resource server>/<scope>``, created with
    :func:`ensure_resource_server`), no user sign-in flow; created unless one of that name
    exists (the first one found is used, as it is)."""
    clients = cognito.get_paginator("list_user_pool_clients").paginate(UserPoolId=pool_id)
    client_id = _find(clients, "UserPoolClients", "ClientName", name)
    if client_id is None:
        client_id = str(
            cognito.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName=name,
                GenerateSecret=True,
                AllowedOAuthFlows=["client_credentials"],
                AllowedOAuthScopes=scopes,
                AllowedOAuthFlowsUserPoolClient=True,
                # a machine signs no user in: only the refresh flow, which Cognito requires
                ExplicitAuthFlows=["ALLOW_REFRESH_TOKEN_AUTH"],
                AccessTokenValidity=access_token_minutes,
                TokenValidityUnits={"AccessToken": "minutes"},
                PreventUserExistenceErrors="ENABLED",
            )["UserPoolClient"]["ClientId"]
        )
    described = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    return CreatedServiceClient(
        client_id=client_id,
        client_secret=str(described["ClientSecret"]),
        scopes=tuple(described.get("AllowedOAuthScopes", ())),
    )


def _find(pages: Any, list_key: str, name_key: str, name: str) -> str | None:
    """The ``Id`` (a pool) or ``ClientId`` (an app client) of the first entry named ``name``."""
    for page in pages:
        for entry in page.get(list_key, []):
            if entry.get(name_key) == name:
                return str(entry.get("Id") or entry["ClientId"])
    return None
