"""/submissions: metadata submissions in the catalogue's own API style, over the same service
as metadata-submitter's API (:mod:`chalicelib.routes.submitter`).

- ``/submissions/schemas[/{type}]``: the eight types; a type's JSON Schema (``?format=xsd``:
  its XSD).
- ``/submissions/validate/{type}``: check an XML file or JSON object(s); stores nothing;
  ``{"valid": ..., "errors": [...]}``.
- ``/submissions/folders[/{id}]``: folders (GET, POST, PATCH with an optional ``version``,
  DELETE); ``POST /submissions/folders/{id}/objects/{type}``: add objects (JSON, XML, or a
  CSV sheet of samples), as drafts with ``?draft=true``; ``POST .../publish``.
- ``/submissions/objects/{accession}``: read (``?format=xml``), replace, patch, delete.

Lists are paged as ``/datasets`` is (``items``, ``total``, ``X-Total-Count``, ``Link``).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.errors import InvalidDocument, ValidationError
from chalicelib.routes._http import Ctx, created, endpoint
from chalicelib.routes._multipart import BODY_TYPES, new_objects
from chalicelib.routes.datasets import log_params, log_response
from chalicelib.routes.projects import no_content, paged, versioned
from chalicelib.submissions.service import NewObject, Submissions, object_type, object_type_of
from chalicelib.submissions.types import TYPES, ObjectType

bp = Blueprint(__name__)


def _service(ctx: Ctx) -> Submissions:
    return ctx.root.submissions


def _objects(ctx: Ctx, type_: ObjectType) -> list[NewObject]:
    return new_objects(ctx, _service(ctx), type_)


def _flag(ctx: Ctx, name: str) -> bool:
    value = (ctx.query_one(name) or "false").lower()
    if value not in ("true", "false"):
        raise ValidationError(f"{name} is true or false", field=name)
    return value == "true"


@bp.route("/submissions/schemas", methods=["GET"])
@endpoint(bp)
def list_types(ctx: Ctx) -> Any:
    return [
        {"type": t.name, "element": t.element, "set": t.set_element, "xsd": t.xsd, "in_catalogue": t.in_catalogue}
        for t in TYPES.values()
    ]


@bp.route("/submissions/schemas/{schema}", methods=["GET"])
@endpoint(bp)
def get_type(ctx: Ctx, schema: str) -> Any:
    return schema_document(ctx, schema)


def schema_document(ctx: Ctx, schema: str) -> Any:
    """The type's JSON Schema; with ``?format=xsd`` (or ``xml``) its XSD."""
    type_ = object_type(schema)
    if (ctx.query_one("format") or "json").lower() in ("xml", "xsd"):
        xsd = _service(ctx).schemas.xsd_text(type_)
        return Response(body=xsd, status_code=200, headers={"Content-Type": "application/xml"})
    return _service(ctx).schemas.json_schema(type_)


@bp.route("/submissions/validate/{schema}", methods=["POST"], content_types=BODY_TYPES)
@endpoint(bp)
def validate(ctx: Ctx, schema: str) -> Any:
    try:
        objects = _objects(ctx, object_type(schema))
    except InvalidDocument as exc:
        return {"valid": False, "message": str(exc), "errors": exc.problems}
    return {"valid": True, "objects": len(objects), "errors": []}


@bp.route("/submissions/folders", methods=["GET"])
@endpoint(bp)
def list_folders(ctx: Ctx) -> Response:
    published = ctx.query_one("published")
    if published not in (None, "true", "false"):
        raise ValidationError("published is true or false", field="published")
    found = _service(ctx).folders(
        ctx.user, published=None if published is None else published == "true", name=ctx.query_one("q")
    )
    return paged(ctx, found)


@bp.route("/submissions/folders", methods=["POST"])
@endpoint(bp)
def create_folder(ctx: Ctx) -> Response:
    folder = _service(ctx).create_folder(ctx.user, ctx.json())
    return created(folder, f"/submissions/folders/{folder['folderId']}")


@bp.route("/submissions/folders/{folder_id}", methods=["GET"])
@endpoint(bp)
def get_folder(ctx: Ctx, folder_id: str) -> Any:
    return _service(ctx).folder(ctx.user, folder_id)


@bp.route("/submissions/folders/{folder_id}", methods=["PATCH"])
@endpoint(bp)
def patch_folder(ctx: Ctx, folder_id: str) -> Any:
    _service(ctx).require_writable(ctx.user, folder_id)
    changes, version = versioned(ctx.json())
    return _service(ctx).update_folder(ctx.user, folder_id, changes, version)


@bp.route("/submissions/folders/{folder_id}", methods=["DELETE"])
@endpoint(bp)
def delete_folder(ctx: Ctx, folder_id: str) -> Response:
    _service(ctx).delete_folder(ctx.user, folder_id)
    return no_content()


@bp.route("/submissions/folders/{folder_id}/publish", methods=["POST"], content_types=BODY_TYPES)
@endpoint(bp)
def publish(ctx: Ctx, folder_id: str) -> Any:
    return _service(ctx).publish(ctx.user, folder_id)


@bp.route("/submissions/folders/{folder_id}/objects/{schema}", methods=["POST"], content_types=BODY_TYPES)
@endpoint(bp)
def add_objects(ctx: Ctx, folder_id: str, schema: str) -> Response:
    service = _service(ctx)
    service.require_writable(ctx.user, folder_id)  # before the body is read
    made = service.add(ctx.user, folder_id, _objects(ctx, object_type(schema)), draft=_flag(ctx, "draft"))
    return created({"items": made, "total": len(made)})


@bp.route("/submissions/folders/{folder_id}/objects", methods=["GET"])
@endpoint(bp)
def folder_objects(ctx: Ctx, folder_id: str) -> Response:
    schema = ctx.query_one("type")
    types = [object_type(schema)] if schema else list(TYPES.values())
    service = _service(ctx)
    found = [
        o
        for t in types
        for draft in (True, False)
        for o in service.list_objects(ctx.user, t, draft=draft, words=ctx.query_one("q"), folder_id=folder_id)
    ]
    return paged(ctx, found)


# our routes name an object by its accession id alone, draft or not (draft=None)
@bp.route("/submissions/objects/{accession}", methods=["GET"])
@endpoint(bp)
def get_object(ctx: Ctx, accession: str) -> Any:
    service, type_ = _service(ctx), object_type_of(accession)
    if (ctx.query_one("format") or "json").lower() == "xml":
        xml = service.get_xml(ctx.user, type_, accession, draft=None)
        return Response(body=xml, status_code=200, headers={"Content-Type": "application/xml"})
    return service.get(ctx.user, type_, accession, draft=None)


@bp.route("/submissions/objects/{accession}", methods=["PUT"], content_types=BODY_TYPES)
@endpoint(bp)
def put_object(ctx: Ctx, accession: str) -> Any:
    service, type_ = _service(ctx), object_type_of(accession)
    service.require_writable(ctx.user, obj=(type_, accession, None))
    objects = _objects(ctx, type_)
    if len(objects) != 1:
        raise ValidationError("a replacement is one object", field="body")
    return service.replace(ctx.user, type_, accession, objects[0], draft=None)


@bp.route("/submissions/objects/{accession}", methods=["PATCH"])
@endpoint(bp)
def patch_object(ctx: Ctx, accession: str) -> Any:
    service, type_ = _service(ctx), object_type_of(accession)
    service.require_writable(ctx.user, obj=(type_, accession, None))
    return service.patch(ctx.user, type_, accession, ctx.json(), draft=None)


@bp.route("/submissions/objects/{accession}", methods=["DELETE"])
@endpoint(bp)
def delete_object(ctx: Ctx, accession: str) -> Response:
    _service(ctx).delete(ctx.user, object_type_of(accession), accession, draft=None)
    return no_content()


@bp.route("/submissions/folders/{folder_id}/log", methods=["GET"])
@endpoint(bp)
def folder_log(ctx: Ctx, folder_id: str) -> Response:
    """The folder record's audit log, paged as ``/datasets/{uuid}/log``."""
    limit, after = log_params(ctx)
    page = _service(ctx).folder_log(ctx.user, folder_id, limit, after)
    return log_response(page.entries, page.next_after)


@bp.route("/submissions/objects/{accession}/log", methods=["GET"])
@endpoint(bp)
def object_log(ctx: Ctx, accession: str) -> Response:
    """An object's audit log (every version of its content), paged as ``/datasets/{uuid}/log``."""
    limit, after = log_params(ctx)
    page = _service(ctx).object_log(ctx.user, accession, limit, after)
    return log_response(page.entries, page.next_after)
