"""The whole catalogue for one stage: storage, queues, search, workflow, identity, the Chalice app, alarms.

Names come from :mod:`chalicelib.resources` (through :class:`~infra.stacks.naming.Names`), key
schemas from the pynamodb models (:mod:`infra.stacks.tables`), the state machine from the ASL file
the local stack runs (``resources.ARCHIVE_DEFINITION_FILE``). The Chalice app is packaged by
``chalice.cdk.Chalice``; it uses the stack id as its Chalice stage name, so the stack id is the
stage (``dev``/``prod``) while the CloudFormation stack is called ``catalogue-<stage>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import (
    CfnOutput,
    CfnResource,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from chalice.cdk import Chalice
from constructs import Construct

from chalicelib import resources
from chalicelib.config import HarvestConfig
from infra.lambda_bundle import staged_project
from infra.stacks import accepted
from infra.stacks.alarms import build_alarms
from infra.stacks.dois import build_dois
from infra.stacks.events import build_event_feed
from infra.stacks.identity import build_identity
from infra.stacks.keys import build_stage_key
from infra.stacks.naming import Names
from infra.stacks.observability import api_access_logs, build_access_log_bucket, function_log_groups, log_group
from infra.stacks.scanners import accept
from infra.stacks.search import DOMAIN as SEARCH_DOMAIN
from infra.stacks.search import build_search_domain, restrict_domain_to
from infra.stacks.settings import StageConfig, Throttle
from infra.stacks.tables import TABLES, TableSpec
from infra.stacks.web import WebPage

REPO_ROOT = Path(__file__).resolve().parents[2]
# throttled tighter than the rest of the API (StageConfig.throttle): guessing passwords and keys
SIGN_IN_ROUTES = (("POST", "/token"), ("POST", "/api/v1/login/apikey"))
# each request costs far more than most: OAI-PMH (anonymous) reads the whole datasets table,
# POST /harvests fetches an upstream record and its files within the request
HEAVY_ROUTES = (("GET", "/oai"), ("POST", "/oai"), ("POST", "/harvests"))

# Lambda sizing per packaged function, by Chalice's logical id (``APIHandler`` is the REST API,
# the others are app.py's event handlers in CamelCase). Chalice takes per-function settings only
# from .chalice/config.json, so the stack overrides Timeout/MemorySize on the SAM resources.
# Queue visibility timeouts are six times the consumer's timeout (AWS guidance for Lambda event
# sources), so a message is not redelivered while a slow invocation still runs.
API_TIMEOUT_S = 30  # API Gateway stops waiting after 29 s anyway
INGEST_TIMEOUT_S = 120
ARCHIVE_TIMEOUT_S = 900
STREAM_TIMEOUT_S = 120
SCHEDULE_TIMEOUT_S = 900
VISIBILITY_FACTOR = 6
FUNCTIONS: dict[str, tuple[int, int]] = {  # logical id: (timeout s, memory MB)
    "APIHandler": (API_TIMEOUT_S, 1024),
    "OnDatasetsStream": (STREAM_TIMEOUT_S, 1024),
    "OnAccessStream": (STREAM_TIMEOUT_S, 512),
    "OnFacilityStream": (STREAM_TIMEOUT_S, 512),
    "OnIngestMessage": (INGEST_TIMEOUT_S, 1024),
    "OnArchiveTask": (ARCHIVE_TIMEOUT_S, 2048),
    "FixityAuditDaily": (SCHEDULE_TIMEOUT_S, 1024),
    "ReconcileDaily": (SCHEDULE_TIMEOUT_S, 1024),
    "DoiReconcileHourly": (SCHEDULE_TIMEOUT_S, 512),  # DataCite calls, one DOI at a time
}
# each function's share of the stage's reserved concurrency (StageConfig.concurrency)
FUNCTION_SHARES: dict[str, str] = {
    "APIHandler": "api",
    "OnDatasetsStream": "streams",
    "OnAccessStream": "streams",
    "OnFacilityStream": "streams",
    "OnIngestMessage": "ingest",
    "OnArchiveTask": "archive",
    "FixityAuditDaily": "schedules",
    "ReconcileDaily": "schedules",
    "DoiReconcileHourly": "schedules",
}
# invoked asynchronously (EventBridge schedules): failed invocations go to a dead-letter queue
SCHEDULED_FUNCTIONS = ("FixityAuditDaily", "ReconcileDaily", "DoiReconcileHourly")
# SQS consumers: their event source mappings stop at the function's share
SQS_EVENT_SOURCES = {"OnIngestMessage": "OnIngestMessageSqsEventSource", "OnArchiveTask": "OnArchiveTaskSqsEventSource"}
# a stream batch that keeps failing goes to an SQS on-failure destination after this many retries
STREAM_MAX_RETRIES = 5


class CatalogueStack(Stack):
    """One stage of the catalogue. ``construct_id`` must be the stage name (Chalice's stage)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        if construct_id != config.stage:
            raise ValueError("the stack id is the Chalice stage: it must equal config.stage")
        super().__init__(scope, construct_id, stack_name=f"catalogue-{config.stage}", **kwargs)
        self.config = config
        self.names = Names(config.stage)
        self.removal = RemovalPolicy.RETAIN if config.retain else RemovalPolicy.DESTROY

        self.key = build_stage_key(self, self.names, self.removal)
        self.access_logs = build_access_log_bucket(self, self.names, self.removal, config.log_retention_days)
        self.tables = {spec.logical_name: self._table(spec) for spec in TABLES}
        self.web = WebPage(self, "WebPage", names=self.names, removal=self.removal, access_logs=self.access_logs)
        self._buckets()
        self._queues()
        self.state_machine = self._state_machine()
        self.domain = build_search_domain(self, self.names, config.opensearch, self.removal, config.log_retention_days)
        self.identity = build_identity(self, config, self.names, self.removal, self.web)
        self.event_feed = build_event_feed(self, self.names, self.removal)  # the change feed's bus
        # DOIs: the DataCite account's secret (a placeholder the operator overwrites), URL and prefix
        self.dois = build_dois(
            self,
            self.names,
            self.removal,
            api_url=config.datacite_api_url,
            prefix=config.datacite_prefix,
            encryption_key=self.key if config.customer_managed_keys else None,
        )
        self.role = self._lambda_role()
        restrict_domain_to(self.domain, self.names.regional(SEARCH_DOMAIN), self.role)
        self.chalice = self._chalice_app(self.identity.issuers)
        dlqs: dict[str, sqs.IQueue] = {
            "IngestDlq": self.ingest_dlq,
            "ArchiveTaskDlq": self.archive_dlq,
            "ScheduledJobsDlq": self.schedule_dlq,
        }
        dlqs.update({f"{_cfn_name(h)}Dlq": q for h, q in self.stream_dlqs.items()})
        self.alarm_topic = build_alarms(
            self,
            stage=config.stage,
            key=self.key,
            alarm_email=config.alarm_email,
            dlqs=dlqs,
            functions=self.functions,
            state_machine=self.state_machine,
        )
        api_url = self.chalice.sam_template.get_output("EndpointURL").value
        CfnOutput(self, "ApiUrl", value=api_url)
        self.web.deploy({"api_url": api_url, "redirect_uri": self.web.url, **self.identity.web_sign_in})
        accepted.accept_wildcards_and_internals(self)  # last: after every grant

    # --- storage -----------------------------------------------------------------------------

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        def attribute(key: Any) -> dynamodb.Attribute:
            return dynamodb.Attribute(name=key.name, type=getattr(dynamodb.AttributeType, key.cdk_type))

        table = dynamodb.Table(
            self,
            spec.construct_id,
            table_name=self.names.regional(spec.logical_name),
            partition_key=attribute(spec.partition_key),
            sort_key=attribute(spec.sort_key) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=getattr(dynamodb.StreamViewType, spec.stream_view_type) if spec.stream_view_type else None,
            time_to_live_attribute=spec.ttl_attribute,
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if self.config.customer_managed_keys
                else dynamodb.TableEncryption.AWS_MANAGED
            ),
            encryption_key=self.key if self.config.customer_managed_keys else None,
            deletion_protection=self.config.retain,
            removal_policy=self.removal,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=attribute(index.partition_key),
                sort_key=attribute(index.sort_key) if index.sort_key else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        if not self.config.customer_managed_keys:
            accept(table, accepted.AWS_MANAGED_TABLE_KEY)
        return table

    def _bucket(self, construct_id: str, logical_name: str, **kwargs: Any) -> s3.Bucket:
        """Versioned, SSE-S3 encrypted, no public access, TLS only, owner-enforced objects, server
        access logs to the access-log bucket (prefix: the bucket's logical name)."""
        return s3.Bucket(
            self,
            construct_id,
            bucket_name=self.names.bucket(logical_name),
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=self.removal,
            auto_delete_objects=False,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{logical_name}/",
            **kwargs,
        )

    def _buckets(self) -> None:
        c = self.config
        self.blobs = self._bucket(
            "CatalogueBucket",
            resources.CATALOGUE_BUCKET,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
        )
        self.deposits = self._bucket(
            "DepositBucket",
            resources.DEPOSIT_BUCKET,
            lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7))],
        )
        lock: dict[str, Any] = {}
        if c.object_lock:
            lock["object_lock_enabled"] = True
            if c.object_lock_retention_days:
                lock["object_lock_default_retention"] = s3.ObjectLockRetention.governance(
                    Duration.days(c.object_lock_retention_days)
                )
        # AIPs are written STANDARD (the fixity check right after storing reads them) and move
        # to DEEP_ARCHIVE after deep_archive_after_days.
        self.archive = self._bucket(
            "ArchiveBucket",
            resources.ARCHIVE_BUCKET,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="deep-archive",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.DEEP_ARCHIVE,
                            transition_after=Duration.days(c.deep_archive_after_days),
                        )
                    ],
                    noncurrent_version_transitions=[
                        s3.NoncurrentVersionTransition(
                            storage_class=s3.StorageClass.DEEP_ARCHIVE,
                            transition_after=Duration.days(c.deep_archive_after_days),
                        )
                    ],
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            **lock,
        )
        # buckets whose datasets are indexed: S3 notifications go to the ingest queue
        self.data_buckets: list[s3.IBucket] = [
            s3.Bucket.from_bucket_name(self, f"DataBucket{i}", name) for i, name in enumerate(c.data_buckets)
        ]
        if c.demo_bucket:
            # the web page uploads folders here with presigned POSTs, from its origin only
            upload_cors = s3.CorsRule(
                allowed_methods=[s3.HttpMethods.POST], allowed_origins=[self.web.origin], allowed_headers=["*"]
            )
            self.data_buckets.append(self._bucket("DemoBucket", resources.DEMO_BUCKET, cors=[upload_cors]))

    # --- queues ------------------------------------------------------------------------------

    def _queue(self, construct_id: str, name: str | None, **kwargs: Any) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,  # S3 notifications can reach SSE-SQS queues
            enforce_ssl=True,
            removal_policy=self.removal,
            **kwargs,
        )
        accept(queue, accepted.SSE_SQS)
        return queue

    def _queues(self) -> None:
        n = self.names
        fortnight = Duration.days(14)
        self.ingest_dlq = self._queue("IngestDlq", n.regional(resources.INGEST_DLQ), retention_period=fortnight)
        self.ingest_queue = self._queue(
            "IngestQueue",
            n.regional(resources.INGEST_QUEUE),
            visibility_timeout=Duration.seconds(VISIBILITY_FACTOR * INGEST_TIMEOUT_S),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.ingest_dlq, max_receive_count=resources.INGEST_MAX_RECEIVE_COUNT
            ),
        )
        self.archive_dlq = self._queue(
            "ArchiveTaskDlq", n.regional(resources.ARCHIVE_TASK_DLQ), retention_period=fortnight
        )
        self.archive_queue = self._queue(
            "ArchiveTaskQueue",
            n.regional(resources.ARCHIVE_TASK_QUEUE),
            visibility_timeout=Duration.seconds(VISIBILITY_FACTOR * ARCHIVE_TIMEOUT_S),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.archive_dlq, max_receive_count=resources.INGEST_MAX_RECEIVE_COUNT
            ),
        )
        # on-failure destinations of the three stream consumers (batches that keep failing);
        # not named in chalicelib.resources because the app never addresses them
        self.stream_dlqs = {
            "on_datasets_stream": self._queue("DatasetsStreamDlq", None, retention_period=fortnight),
            "on_access_stream": self._queue("AccessStreamDlq", None, retention_period=fortnight),
            "on_facility_stream": self._queue("FacilityStreamDlq", None, retention_period=fortnight),
        }
        # the scheduled jobs' failed asynchronous invocations (after Lambda's own two retries)
        self.schedule_dlq = self._queue("ScheduledJobsDlq", None, retention_period=fortnight)
        accept([*self.stream_dlqs.values(), self.schedule_dlq], accepted.DLQ_BY_DESTINATION)
        watched: list[s3.IBucket] = [self.deposits, *self.data_buckets]
        destination = s3n.SqsDestination(self.ingest_queue)
        for bucket in watched:
            bucket.add_event_notification(s3.EventType.OBJECT_CREATED, destination)
            bucket.add_event_notification(s3.EventType.OBJECT_REMOVED, destination)
        self.watched_buckets = watched

    # --- workflow, search, identity --------------------------------------------------------

    def _state_machine(self) -> sfn.StateMachine:
        machine = sfn.StateMachine(
            self,
            "ArchiveStateMachine",
            state_machine_name=self.names.regional(resources.ARCHIVE_STATE_MACHINE),
            # inline (DefinitionString), not an S3 asset: the template shows the definition
            definition_body=sfn.DefinitionBody.from_string((REPO_ROOT / resources.ARCHIVE_DEFINITION_FILE).read_text()),
            definition_substitutions={"TaskQueueUrl": self.archive_queue.queue_url},
            # every state transition, without the states' input and output (they carry task tokens)
            logs=sfn.LogOptions(
                destination=log_group(
                    self,
                    "ArchiveStateMachineLogs",
                    f"/aws/vendedlogs/states/{self.stack_name}-archive",
                    self.config.log_retention_days,
                    self.removal,
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
            tracing_enabled=True,
            removal_policy=self.removal,
        )

        # the definition's only integration: sqs:sendMessage.waitForTaskToken to the task queue
        self.archive_queue.grant(machine, "sqs:SendMessage")
        return machine

    # --- the Lambda role and the Chalice app ------------------------------------------------

    def _lambda_role(self) -> iam.Role:
        role = iam.Role(
            self,
            "LambdaRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="The catalogue's Lambda functions (every Chalice handler)",
        )
        for table in self.tables.values():
            table.grant_read_write_data(role)
            if table.table_stream_arn is not None:
                # stream reads scoped to the stream ARN (grant_stream_read would add ListStreams on "*")
                table.grant_stream(
                    role,
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                )
        self.blobs.grant_read_write(role)
        self.archive.grant_read_write(role)
        # GET /archives/{id}/files restores DEEP_ARCHIVE objects before handing out links
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:RestoreObject"], resources=[self.archive.arn_for_objects("*")])
        )
        self.deposits.grant_read(role)
        # POST /archives/deposits hands out presigned PUTs under uploads/ (signed with this role)
        self.deposits.grant_put(role, "uploads/*")
        self.deposits.grant_put(role, "harvests/*")  # POST /harvests writes the SIPs it builds
        for bucket in self.data_buckets:
            bucket.grant_read(role)
            # POST /uploads hands out presigned POSTs into these buckets, signed by this role:
            # S3 accepts them only if the role may put the objects itself
            bucket.grant_put(role)
        self.ingest_queue.grant_consume_messages(role)
        # bulk index (API and the ingest handler's continuation messages)
        self.ingest_queue.grant_send_messages(role)
        self.archive_queue.grant_consume_messages(role)
        for dlq in (*self.stream_dlqs.values(), self.schedule_dlq):
            dlq.grant_send_messages(role)
        self.state_machine.grant_start_execution(role)
        # The worker answers the state machine's task tokens. These three actions do not support
        # resource-level permissions (a task token names no resource): AWS requires Resource "*".
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AnswerArchiveTaskTokens",
                actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                resources=["*"],
            )
        )
        self.domain.grant_read_write(role)
        self.event_feed.grant_publish(role)  # events:PutEvents on the stage's bus only
        self.dois.grant_read(role)  # the DataCite account's secret (the API and the stream consumers)
        return role

    def _environment(self, issuers: list[dict[str, Any]]) -> dict[str, str]:
        """Every ``CATALOGUE_*`` variable :meth:`chalicelib.config.Settings.from_env` reads."""
        n, c = self.names, self.config
        datasets, access = self.tables[resources.DATASETS_TABLE], self.tables[resources.ACCESS_TABLE]
        facility = self.tables[resources.FACILITY_TABLE]
        pool, cli_client = self.identity.user_pool, self.identity.user_pool_client
        assert datasets.table_stream_arn is not None and access.table_stream_arn is not None
        assert facility.table_stream_arn is not None
        return {
            "CATALOGUE_STAGE": c.stage,
            **self.event_feed.environment,  # CATALOGUE_EVENT_BUS_NAME
            **self.dois.environment,  # CATALOGUE_DATACITE_URL, _PREFIX, _SECRET_ID (an ARN)
            # read by app.py at import time: the stream event source mappings
            "CATALOGUE_DATASETS_STREAM_ARN": datasets.table_stream_arn,
            "CATALOGUE_ACCESS_STREAM_ARN": access.table_stream_arn,
            "CATALOGUE_FACILITY_STREAM_ARN": facility.table_stream_arn,
            "CATALOGUE_DATASETS_TABLE": datasets.table_name,
            "CATALOGUE_ACCESS_TABLE": access.table_name,
            "CATALOGUE_AUDIT_TABLE": self.tables[resources.AUDIT_TABLE].table_name,
            "CATALOGUE_ARCHIVES_TABLE": self.tables[resources.ARCHIVES_TABLE].table_name,
            "CATALOGUE_BUCKET": self.blobs.bucket_name,
            "CATALOGUE_ARCHIVE_BUCKET": self.archive.bucket_name,
            "CATALOGUE_DEPOSIT_BASE_URI": f"s3://{self.deposits.bucket_name}",
            # plain names (not tokens): Chalice builds the SQS event source ARNs from them
            "CATALOGUE_INGEST_QUEUE": n.regional(resources.INGEST_QUEUE),
            "CATALOGUE_INGEST_DLQ": n.regional(resources.INGEST_DLQ),
            "CATALOGUE_ARCHIVE_TASK_QUEUE": n.regional(resources.ARCHIVE_TASK_QUEUE),
            "CATALOGUE_ARCHIVE_STATE_MACHINE_ARN": self.state_machine.state_machine_arn,
            "CATALOGUE_ARCHIVE_STORAGE_CLASS": "STANDARD",  # the lifecycle rule moves AIPs to DEEP_ARCHIVE
            "CATALOGUE_FIXITY_SAMPLE_FRACTION": str(c.fixity_sample_fraction),
            # POST /harvests: the stage's upstream hosts over https; plain http and loopback are
            # the local stand-in's only, never allowed here (tests/infra/test_harvest_stack.py)
            "CATALOGUE_HARVEST_HOSTS": ",".join(c.harvest_hosts),
            "CATALOGUE_HARVEST_PLAIN_HTTP_HOSTS": "",
            "CATALOGUE_HARVEST_ALLOW_LOOPBACK": "0",
            "CATALOGUE_HARVEST_MAX_JSON_BYTES": str(HarvestConfig.max_json_bytes),
            "CATALOGUE_HARVEST_MAX_FILE_BYTES": str(HarvestConfig.max_file_bytes),
            "CATALOGUE_HARVEST_MAX_RECORD_BYTES": str(HarvestConfig.max_record_bytes),
            "CATALOGUE_HARVEST_MAX_FILES": str(HarvestConfig.max_files),
            # OAI-PMH (/oai): the stage's identifier and contact; its baseURL is the request's
            "CATALOGUE_OAI_REPOSITORY_IDENTIFIER": c.oai_repository_identifier,
            "CATALOGUE_OAI_ADMIN_EMAIL": c.oai_admin_email,
            "CATALOGUE_OPENSEARCH_URL": f"https://{self.domain.domain_endpoint}",
            "CATALOGUE_SEARCH_INDEX": resources.SEARCH_INDEX,
            "CATALOGUE_OIDC_ISSUERS": self.to_json_string(issuers),
            "CATALOGUE_OIDC_LOGINS": self.to_json_string(self.identity.oidc_logins),
            "CATALOGUE_CLIENT_CREDENTIALS_TOKEN_URL": self.identity.client_credentials_token_url,
            # read by app.py at import time: the only origin CORS answers (the web page)
            "CATALOGUE_WEB_ORIGIN": self.web.origin,
            "CATALOGUE_SIGN_IN_ATTEMPTS_TABLE": self.tables[resources.SIGN_IN_ATTEMPTS_TABLE].table_name,
            "CATALOGUE_FACILITY_TABLE": facility.table_name,
            "CATALOGUE_SUMMARY_TABLE": self.tables[resources.SUMMARY_TABLE].table_name,
            # POST /token signs users in to this stack's pool (empty with an external issuer:
            # no password sign-in then)
            "CATALOGUE_USER_POOL_ID": pool.user_pool_id if pool else "",
            "CATALOGUE_USER_POOL_CLIENT_ID": cli_client.user_pool_client_id if cli_client else "",
        }

    def _chalice_app(self, issuers: list[dict[str, Any]]) -> Chalice:
        # packaged from a staged copy whose vendor/ is requirements/runtime.lock, hash-checked
        # (chalice itself would resolve requirements.txt anew); the zip is made inside Chalice()
        with staged_project(REPO_ROOT) as project:
            app = Chalice(
                self,
                "App",
                source_dir=str(project),
                stage_config={
                    "manage_iam_role": False,
                    "iam_role_arn": self.role.role_arn,
                    "api_gateway_stage": "api",
                    "environment_variables": self._environment(issuers),
                },
            )
        self.functions = _serverless_functions(app)
        if set(self.functions) != set(FUNCTIONS):
            raise ValueError(f"size every packaged function: {sorted(self.functions)} vs {sorted(FUNCTIONS)}")
        concurrency = self.config.concurrency
        for logical_id, (timeout, memory) in FUNCTIONS.items():
            fn = self.functions[logical_id]
            fn.add_property_override("Timeout", timeout)
            fn.add_property_override("MemorySize", memory)
            fn.add_property_override("ReservedConcurrentExecutions", getattr(concurrency, FUNCTION_SHARES[logical_id]))
            accept(fn, accepted.LAMBDA_OUTSIDE_VPC)
            accept(fn, accepted.LAMBDA_ENVIRONMENT)
            if logical_id in SCHEDULED_FUNCTIONS:
                fn.add_property_override("DeadLetterQueue", {"Type": "SQS", "TargetArn": self.schedule_dlq.queue_arn})
            else:
                accept(fn, accepted.LAMBDA_INVOKED_SYNCHRONOUSLY)
        for logical_id, event in SQS_EVENT_SOURCES.items():
            share = getattr(concurrency, FUNCTION_SHARES[logical_id])
            self.functions[logical_id].add_property_override(
                f"Events.{event}.Properties.ScalingConfig", {"MaximumConcurrency": share}
            )
        # one JSON object per log record (a newline in an uploaded key or a header cannot start a
        # forged line: the message is a JSON string), in a group with the stage's retention
        groups = function_log_groups(self, self.functions, self.config.log_retention_days, self.removal)
        # the functions write to their own log groups only (the stack made them: no CreateLogGroup)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[group.log_group_arn for group in groups.values()],
            )
        )
        rest_api = app.get_resource("RestAPI")
        rest_api.add_property_override("MethodSettings", method_settings(self.config.throttle))
        api_access_logs(self, rest_api, self.config.log_retention_days, self.removal)
        accept(rest_api, accepted.NO_API_CACHE)
        policy = self.role.node.try_find_child("DefaultPolicy")
        assert isinstance(policy, iam.Policy)
        policy_resource = policy.node.default_child
        assert isinstance(policy_resource, CfnResource)
        for fn in self.functions.values():
            # event source mappings are validated against the role's policy at creation
            fn.add_resource_dependency(policy_resource)
        self._stream_failures(app)
        # queues named by plain strings in the env: make the functions wait for them
        for queue in (self.ingest_queue, self.archive_queue):
            queue_resource = queue.node.default_child
            assert isinstance(queue_resource, CfnResource)
            for fn in self.functions.values():
                fn.add_resource_dependency(queue_resource)
        return app

    def _stream_failures(self, app: Chalice) -> None:
        """Bounded retries, bisection and an SQS on-failure destination for every stream consumer."""
        for handler, dlq in self.stream_dlqs.items():
            fn = self.functions[_cfn_name(handler)]
            event = f"{_cfn_name(handler)}DynamodbEventSource"
            for key, value in (
                ("MaximumRetryAttempts", STREAM_MAX_RETRIES),
                ("BisectBatchOnFunctionError", True),
                ("DestinationConfig", {"OnFailure": {"Type": "SQS", "Destination": dlq.queue_arn}}),
            ):
                fn.add_property_override(f"Events.{event}.Properties.{key}", value)


def method_settings(throttle: Throttle) -> list[dict[str, Any]]:
    """The stage's throttling: the whole API, then the sign-in and the heavy routes tighter
    (API Gateway encodes each ``/`` of a resource path as ``~1``). Every entry also sets the
    execution logs: errors only, never request or response bodies (they carry tokens)."""
    logging = {"LoggingLevel": "ERROR", "DataTraceEnabled": False, "MetricsEnabled": True}
    routes = [(("*", "/*"), throttle.rate, throttle.burst)]
    routes += [(route, throttle.sign_in_rate, throttle.sign_in_burst) for route in SIGN_IN_ROUTES]
    routes += [(route, throttle.heavy_rate, throttle.heavy_burst) for route in HEAVY_ROUTES]
    return [
        {
            "ResourcePath": path if path == "/*" else "/" + path.replace("/", "~1"),
            "HttpMethod": method,
            "ThrottlingRateLimit": rate,
            "ThrottlingBurstLimit": burst,
            **logging,
        }
        for (method, path), rate, burst in routes
    ]


def _cfn_name(handler: str) -> str:
    """Chalice's logical id of a handler (``on_ingest_message`` -> ``OnIngestMessage``)."""
    from chalice.utils import to_cfn_resource_name

    return str(to_cfn_resource_name(handler))


def _serverless_functions(app: Chalice) -> dict[str, CfnResource]:
    """The ``AWS::Serverless::Function`` resources of the packaged app, by logical id."""
    out: dict[str, CfnResource] = {}
    for child in app.sam_template.node.children:
        if isinstance(child, CfnResource) and child.cfn_resource_type == "AWS::Serverless::Function":
            out[app.sam_template.stack.resolve(child.logical_id)] = child
    return out
