"""The routing table: HTTP routes live in Blueprints, event handlers delegate in one line."""

from __future__ import annotations

import os

from chalice.app import Chalice, CloudWatchEvent, DynamoDBEvent, Rate, SQSEvent

from chalicelib import jobs, resources
from chalicelib.composition import root
from chalicelib.routes import (
    annotation_schemas,
    api_docs,
    archives,
    base_uris,
    datasets,
    dois,
    dserver,
    exports,
    facility_log,
    harvests,
    health,
    items,
    lookup_server,
    mymdc,
    oai,
    projects,
    record_exports,
    submissions,
    submitter,
    tokens,
    tracker_api,
    tracker_users,
    uploads,
    users,
)
from chalicelib.routes._http import cors_for

app = Chalice(app_name="catalogue")
# every route, set before the Blueprints register theirs; Chalice bakes it into API Gateway's
# preflight answers when packaging, so the origin is read here (CDK passes the page's)
app.api.cors = cors_for(os.environ.get("CATALOGUE_WEB_ORIGIN"))
app.register_blueprint(health.bp)
app.register_blueprint(api_docs.bp)  # /openapi.json and Swagger UI at /docs
app.register_blueprint(datasets.bp)
app.register_blueprint(users.bp)
app.register_blueprint(base_uris.bp)
app.register_blueprint(archives.bp)
app.register_blueprint(harvests.bp)  # POST /harvests: an InvenioRDM/Zenodo record into the archive
app.register_blueprint(items.bp)  # GET /datasets/{uuid}/items/{id}/url: presigned links to a dataset's files
app.register_blueprint(dois.bp)  # /datasets/{uuid}/doi: DOIs through DataCite; see README "DOIs (DataCite)"
app.register_blueprint(exports.bp)  # GET /datasets/{uuid}/export/{format}: DataCite, schema.org…; see README "Exports"
app.register_blueprint(record_exports.bp)  # GET /projects|collections/{uuid}/export/{format}; README "Exports"
app.register_blueprint(uploads.bp)  # POST /uploads: a folder to S3 with presigned POSTs, registered by the ingest
app.register_blueprint(dserver.bp)  # dtool clients (dserver API); see README "Using dtool clients"
app.register_blueprint(lookup_server.bp)  # dtool clients of dtool-lookup-server 0.18 (/dataset/*, /admin/*)
app.register_blueprint(tokens.bp)  # POST /token: dtool's token generator
# European XFEL's metadata_client (myMdC API); see README "Facility data (XFEL)"
app.register_blueprint(mymdc.bp, url_prefix=os.environ.get("CATALOGUE_MYMDC_PREFIX", "/mymdc/api"))
app.register_blueprint(facility_log.bp)  # GET /facility/{kind}/{id}/log: the facility records' audit log
app.register_blueprint(annotation_schemas.bp)  # /annotation-schemas: site-defined schemas of annotations
# SciLifeLab Data Tracker's API; see README "Orders, collections and keys (Data Tracker)"
app.register_blueprint(tracker_api.bp, url_prefix="/api/v1")
app.register_blueprint(tracker_users.bp, url_prefix="/api/v1")
app.register_blueprint(projects.bp)  # /projects, /collections: the same records in our own API style
# CSC metadata-submitter's API and our /submissions; see README "Submitting metadata"
app.api.binary_types.append("multipart/form-data")  # forms of XML files arrive as bytes
app.register_blueprint(submitter.bp, url_prefix=os.environ.get("CATALOGUE_SUBMITTER_PREFIX", "/submitter"))
app.register_blueprint(submissions.bp)
app.register_blueprint(oai.bp)  # /oai: OAI-PMH 2.0 for harvesters; see README "OAI-PMH"


# Chalice needs the stream ARNs at decoration time to build the event source mappings;
# they are required (no fake defaults: a default would leak into a packaged template).
@app.on_dynamodb_record(
    stream_arn=os.environ["CATALOGUE_DATASETS_STREAM_ARN"], batch_size=100, starting_position="TRIM_HORIZON"
)
def on_datasets_stream(event: DynamoDBEvent) -> None:
    root().streams.process_datasets(event.to_dict()["Records"])


@app.on_dynamodb_record(
    stream_arn=os.environ["CATALOGUE_ACCESS_STREAM_ARN"], batch_size=100, starting_position="TRIM_HORIZON"
)
def on_access_stream(event: DynamoDBEvent) -> None:
    root().streams.process_access(event.to_dict()["Records"])


@app.on_dynamodb_record(
    stream_arn=os.environ["CATALOGUE_FACILITY_STREAM_ARN"], batch_size=100, starting_position="TRIM_HORIZON"
)
def on_facility_stream(event: DynamoDBEvent) -> None:
    root().streams.process_facility(event.to_dict()["Records"])


# batch_size=1: Chalice has no ReportBatchItemFailures, so a failing message would make
# every other message of its batch redeliver; one message per invocation keeps a poison
# message to itself (it reaches the DLQ after maxReceiveCount receives).
@app.on_sqs_message(queue=os.environ.get("CATALOGUE_INGEST_QUEUE", resources.INGEST_QUEUE), batch_size=1)
def on_ingest_message(event: SQSEvent) -> None:
    for record in event:
        receives = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", "1"))
        jobs.on_ingest_message(root(), record.body, receives)


# batch_size=1 for the same reason: each message is one step of one archive.
@app.on_sqs_message(queue=os.environ.get("CATALOGUE_ARCHIVE_TASK_QUEUE", resources.ARCHIVE_TASK_QUEUE), batch_size=1)
def on_archive_task(event: SQSEvent) -> None:
    for record in event:
        root().archive_worker.handle(record.body)


@app.schedule(Rate(1, unit=Rate.DAYS))
def fixity_audit_daily(event: CloudWatchEvent) -> None:
    jobs.run_fixity_audit(root())


@app.schedule(Rate(1, unit=Rate.DAYS))
def reconcile_daily(event: CloudWatchEvent) -> None:
    jobs.run_reconcile(root())


# DOIs the stream consumer could not bring in step (DataCite down): sent again, hourly
@app.schedule(Rate(1, unit=Rate.HOURS))
def doi_reconcile_hourly(event: CloudWatchEvent) -> None:
    jobs.run_doi_reconcile(root())
