"""/uploads: folders uploaded straight to S3 with presigned POSTs, registered by the ingest."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.errors import ValidationError
from chalicelib.identity.permissions import REGISTRARS
from chalicelib.routes._http import Ctx, endpoint

bp = Blueprint(__name__)


@bp.route("/uploads", methods=["POST"])
@endpoint(bp, gate=REGISTRARS)
def start_upload(ctx: Ctx) -> dict[str, Any]:
    """Start uploading a folder into an S3 base URI: a presigned POST form for its files.

    Body ``{"base_uri": "s3://bucket[/prefix]", "folder": "runs/run-7"}`` (register permission
    on the base URI; the folder must be new). POST each file to ``url`` as
    ``multipart/form-data``: every one of ``fields``, then ``key`` (``key_prefix`` + the file's
    relative path), then ``file`` last; at most ``max_bytes`` per file, within ``expires_in``
    seconds. Write the sidecar ``dataset.json`` (name, description, creator, tags, readme,
    annotations) LAST: its arrival registers the folder as the dataset ``uuid`` (``GET
    /datasets/{uuid}`` answers once it is indexed). Answered 200, not 201: nothing is created
    until the files arrive.
    """
    body = ctx.json()
    if not isinstance(body, dict):
        raise ValidationError('give {"base_uri": ..., "folder": ...}', field="body")
    return ctx.root.uploads.start(ctx.user, body.get("base_uri"), body.get("folder"))
