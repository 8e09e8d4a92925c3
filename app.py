"""The routing table: HTTP routes live in Blueprints, event handlers delegate in one line."""

from __future__ import annotations

import os

from chalice.app import Chalice, DynamoDBEvent

from chalicelib import deps
from chalicelib.routes import base_uris, datasets, health, users

app = Chalice(app_name="catalogue")
app.register_blueprint(health.bp)
app.register_blueprint(datasets.bp)
app.register_blueprint(users.bp)
app.register_blueprint(base_uris.bp)


# Chalice needs the stream ARNs at decoration time to build the event source mappings;
# they are required (no fake defaults: a default would leak into a packaged template).
@app.on_dynamodb_record(
    stream_arn=os.environ["CATALOGUE_DATASETS_STREAM_ARN"], batch_size=100, starting_position="TRIM_HORIZON"
)
def on_datasets_stream(event: DynamoDBEvent) -> None:
    deps.get_stream_processor().process_datasets(event.to_dict()["Records"])


@app.on_dynamodb_record(
    stream_arn=os.environ["CATALOGUE_ACCESS_STREAM_ARN"], batch_size=100, starting_position="TRIM_HORIZON"
)
def on_access_stream(event: DynamoDBEvent) -> None:
    deps.get_stream_processor().process_access(event.to_dict()["Records"])
