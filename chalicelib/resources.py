"""Logical names of every AWS resource, shared by the local stack and the CDK app.

One source of truth: the local stack creates exactly these, the CDK stack (issue 8)
names its resources from here, and :class:`chalicelib.config.Settings` defaults to them.
"""

from __future__ import annotations

DATASETS_TABLE = "catalogue-datasets"
ACCESS_TABLE = "catalogue-access"
AUDIT_TABLE = "catalogue-audit"
ARCHIVES_TABLE = "catalogue-archives"
# failed password sign-ins per username and per source address (POST /token's rate limit)
SIGN_IN_ATTEMPTS_TABLE = "catalogue-sign-in-attempts"
# myMdC's entities (proposals, runs, data groups, ...) with their claims and id counters
FACILITY_TABLE = "catalogue-facility"
# the summary's counters, kept by the datasets stream consumer (derived: rebuilt, never backed up)
SUMMARY_TABLE = "catalogue-summary"
ARCHIVE_BUCKET = "catalogue-archive"
# bags uploaded here (or through POST /archives) are SIPs: registered, then archived
DEPOSIT_BUCKET = "catalogue-deposits"
ARCHIVE_TASK_QUEUE = "catalogue-archive-tasks"
ARCHIVE_TASK_DLQ = "catalogue-archive-tasks-dlq"
ARCHIVE_STATE_MACHINE = "catalogue-archive"
# the one definition both the local stack and the CDK stack deploy (relative to the repository)
ARCHIVE_DEFINITION_FILE = "infra/statemachine/archive.asl.json"
CATALOGUE_BUCKET = "catalogue-blobs"
SEARCH_INDEX = "catalogue-datasets"
DEMO_BUCKET = "catalogue-demo-data"
USER_POOL_NAME = "catalogue-users"
USER_POOL_CLIENT_NAME = "catalogue-cli"
INGEST_QUEUE = "catalogue-ingest"
INGEST_DLQ = "catalogue-ingest-dlq"
INGEST_MAX_RECEIVE_COUNT = 5
# OAuth2 client credentials (issue 18): the user pool's resource server, its scope, and the app
# client European XFEL's DAQ (metadata_client) fetches tokens with; its tokens act as the
# catalogue user XFEL_SERVICE_USER (IssuerConfig.service_clients)
OAUTH_RESOURCE_SERVER = "catalogue"
MYMDC_SCOPE = "mymdc"
XFEL_CLIENT_NAME = "xfel-daq"
# the Data Tracker's sign-in through the hosted UI (authorization code with PKCE; CDK only)
WEB_SIGN_IN_CLIENT_NAME = "web-sign-in"
# the web page (web/): its bucket behind CloudFront, and its public app client (PKCE)
WEB_PAGE_BUCKET = "catalogue-web"
# deployed stages only (infra/stacks/observability.py): S3 server access logs and CloudFront logs
ACCESS_LOG_BUCKET = "catalogue-access-logs"
WEB_PAGE_CLIENT_NAME = "web-page"
XFEL_SERVICE_USER = "xfel-daq"
# the prefix of the user pool's Cognito domain (<prefix>-<stage>-<account>.auth.<region>.amazoncognito.com)
USER_POOL_DOMAIN = "catalogue-auth"
# the change feed (issue 23): the bus the stream consumer publishes to, the prefix of the events'
# source ("catalogue.<stage>"), and, in the local stack only, a rule sending the catalogue's
# events to a queue that tests and users read (the CDK stack has an archive and an example rule)
EVENT_BUS = "catalogue-events"
EVENT_SOURCE_PREFIX = "catalogue"
LOCAL_EVENTS_RULE = "catalogue-events-to-queue"
LOCAL_EVENTS_QUEUE = "catalogue-events"
# the deployed stack's example rule sends dataset registrations and removals here
EVENTS_EXAMPLE_QUEUE = "catalogue-events-example"
