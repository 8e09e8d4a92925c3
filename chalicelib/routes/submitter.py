"""CSC metadata-submitter's REST API (its OpenAPI document of v0.13: ``/submit``,
``/validate``, ``/schemas``, ``/objects``, ``/drafts``, ``/folders``, ``/publish``,
``/users``), over the catalogue's submission service (:mod:`chalicelib.submissions.service`):
one data path, one permission check. Mounted under ``/submitter`` (app.py).

Bodies and answers are the seed's (``{"folderId": ...}``, ``{"accessionId": ...}``, lists
paged as ``{"page": {...}, "objects": [...]}``); errors are the catalogue's
``{"Code", "Message"}``, with every problem of an invalid document in ``Errors``.
"""

from __future__ import annotations

import re
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.errors import Forbidden, InvalidDocument, ValidationError
from chalicelib.routes._http import Ctx, created, endpoint
from chalicelib.routes._multipart import BODY_TYPES, CSV_TYPES, form_parts, media_type, new_objects
from chalicelib.routes.submissions import schema_document
from chalicelib.submissions.service import NewObject, Submissions, object_type
from chalicelib.submissions.types import TYPES

bp = Blueprint(__name__)
SOURCE = "https://github.com/enasequence/schema/blob/master/src/main/resources/uk/ac/ebi/ena/sra/schema/"
ACTIONS = ("add", "modify", "validate")
FORM = ["multipart/form-data"]  # what /validate and /submit read (Chalice answers 415 to anything else)
MAX_PER_PAGE = 1000
MAX_PAGE_NUMBER = 999_999_999  # page and per_page: at most 9 digits
_DIGITS = re.compile(r"[0-9]{1,9}")


def _service(ctx: Ctx) -> Submissions:
    return ctx.root.submissions


def _page(ctx: Ctx, items: list[Any], key: str) -> dict[str, Any]:
    """metadata-submitter's paging: ``page`` and ``per_page`` (default 10)."""
    page = _positive(ctx, "page", 1)
    size = min(_positive(ctx, "per_page", 10), MAX_PER_PAGE)
    start = (page - 1) * size
    total_pages = max(1, -(-len(items) // size))
    return {
        "page": {"page": page, "size": size, "totalPages": total_pages, "totalObjects": len(items)},
        key: items[start : start + size],
    }


def _positive(ctx: Ctx, name: str, default: int) -> int:
    value = ctx.query_one(name)
    if value is None:
        return default
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses (a 500)
    if not _DIGITS.fullmatch(value) or int(value) < 1:
        raise ValidationError(f"{name} must be a whole number, 1 or more", field=name)
    return int(value)


def _folder_param(ctx: Ctx) -> str:
    folder = ctx.query_one("folder")
    if not folder:
        raise ValidationError("the folder query parameter is required (?folder=<folderId>)", field="folder")
    return folder


def _new_objects(ctx: Ctx, schema: str) -> list[NewObject]:
    return new_objects(ctx, _service(ctx), object_type(schema))


def _created(ctx: Ctx, schema: str, *, draft: bool) -> Response:
    folder = _folder_param(ctx)
    _service(ctx).require_writable(ctx.user, folder)
    objects = _new_objects(ctx, schema)
    made = _service(ctx).add(ctx.user, folder, objects, draft=draft)
    if len(made) == 1 and media_type(ctx) not in ("multipart/form-data", *CSV_TYPES):
        return created({"accessionId": made[0]["accessionId"]})
    return created(made)


def _replacement(ctx: Ctx, schema: str) -> NewObject:
    objects = _new_objects(ctx, schema)
    if len(objects) != 1:
        raise ValidationError("a replacement is one object", field="body")
    return objects[0]


# -- schemas ------------------------------------------------------------------------------------
@bp.route("/schemas", methods=["GET"])
@endpoint(bp)
def list_schemas(ctx: Ctx) -> Any:
    return [
        {"title": t.name.capitalize(), "detail": f"ENA {t.element} ({t.xsd})", "url": SOURCE + t.xsd}
        for t in TYPES.values()
    ]


@bp.route("/schemas/{schema}", methods=["GET"])
@endpoint(bp)
def get_schema(ctx: Ctx, schema: str) -> Any:
    """The type's JSON Schema; ``?format=xml``: its XSD."""
    return schema_document(ctx, schema)


# -- submit and validate --------------------------------------------------------------------------
@bp.route("/validate", methods=["POST"], content_types=FORM)
@endpoint(bp)
def validate(ctx: Ctx) -> Any:
    """One XML file (its form field named by its type): ``{"isValid": ...}``, stores nothing."""
    parts = form_parts(ctx)
    if len(parts) != 1:
        raise ValidationError("send one file, its form field named by its type (e.g. sample)", field="body")
    try:
        objects = _service(ctx).parse_xml(parts[0].data, object_type(parts[0].name))
    except InvalidDocument as exc:
        first = exc.problems[0] if exc.problems else {"message": str(exc), "path": "/"}
        detail = {"reason": first["message"], "instance": first["path"]}
        return {"isValid": False, "detail": detail, "errors": exc.problems}
    return {"isValid": True, "objects": len(objects)}


@bp.route("/submit", methods=["POST"], content_types=FORM)
@endpoint(bp)
def submit(ctx: Ctx) -> Any:
    """A submission file (``submission``: SUBMISSION_SET with ACTIONS of ADD, MODIFY or
    VALIDATE naming ``schema`` and ``source``) with the files it names: every file is checked
    before anything is stored; nothing is stored when one is invalid."""
    service = _service(ctx)
    folder = _folder_param(ctx)
    service.require_writable(ctx.user, folder)
    parts = form_parts(ctx)
    submissions = [p for p in parts if p.name == "submission"]
    if len(submissions) != 1:
        raise ValidationError("send exactly one submission file (form field 'submission')", field="submission")
    actions = _actions(service, submissions[0].data)
    files = [p for p in parts if p.name != "submission"]
    results: list[dict[str, Any]] = []
    to_add: list[NewObject] = []
    to_modify: list[NewObject] = []
    problems: list[dict[str, str]] = []
    for part in files:
        action = actions.get(part.name)
        if action is None:
            raise ValidationError(f"the submission file names no action for {part.name[:64]!r}", field=part.name)
        try:
            objects = service.parse_xml(part.data, object_type(part.name))
        except InvalidDocument as exc:
            if action == "validate":
                results.append({"isValid": False, "schema": part.name, "errors": exc.problems})
                continue
            problems.extend({**p, "path": f"{part.filename or part.name}:{p['path']}"} for p in exc.problems)
            continue
        if action == "validate":
            results.append({"isValid": True, "schema": part.name})
        else:
            (to_add if action == "add" else to_modify).extend(objects)
    if problems:
        raise InvalidDocument(f"the submission is not valid ({len(problems)} problems)", problems)
    for new in to_modify:
        results.append(service.modify_by_alias(ctx.user, folder, new))
    results.extend(service.add(ctx.user, folder, to_add, draft=False) if to_add else [])
    return results


def _actions(service: Submissions, data: bytes) -> dict[str, str]:
    """schema → action of a submission file."""
    content = service.schemas.submission(data)
    out: dict[str, str] = {}
    for action in content:
        for name, attributes in action.items():
            verb = name.lower()
            schema = attributes.get("@schema") if isinstance(attributes, dict) else None
            if verb not in ACTIONS or not isinstance(schema, str):
                raise ValidationError(f"unsupported action {name[:32]}: ADD, MODIFY or VALIDATE with a schema")
            out[schema] = verb
    return out


# -- objects and drafts ---------------------------------------------------------------------------
def _object_routes(prefix: str, draft: bool) -> None:
    @bp.route(f"/{prefix}/{{schema}}", methods=["GET"], name=f"{prefix}_list")
    @endpoint(bp)
    def listing(ctx: Ctx, schema: str) -> Any:
        found = _service(ctx).list_objects(
            ctx.user, object_type(schema), draft=draft, words=ctx.query_one("title"), folder_id=ctx.query_one("folder")
        )
        return _page(ctx, found, "objects")

    @bp.route(f"/{prefix}/{{schema}}", methods=["POST"], name=f"{prefix}_create", content_types=BODY_TYPES)
    @endpoint(bp)
    def create(ctx: Ctx, schema: str) -> Response:
        return _created(ctx, schema, draft=draft)

    @bp.route(f"/{prefix}/{{schema}}/{{accession}}", methods=["GET"], name=f"{prefix}_get")
    @endpoint(bp)
    def get(ctx: Ctx, schema: str, accession: str) -> Any:
        type_ = object_type(schema)
        if (ctx.query_one("format") or "json").lower() == "xml":
            xml = _service(ctx).get_xml(ctx.user, type_, accession, draft=draft)
            return Response(body=xml, status_code=200, headers={"Content-Type": "application/xml"})
        return _service(ctx).get(ctx.user, type_, accession, draft=draft)

    @bp.route(f"/{prefix}/{{schema}}/{{accession}}", methods=["PUT"], name=f"{prefix}_put", content_types=BODY_TYPES)
    @endpoint(bp)
    def put(ctx: Ctx, schema: str, accession: str) -> Any:
        _service(ctx).require_writable(ctx.user, obj=(object_type(schema), accession, draft))
        new = _replacement(ctx, schema)
        _service(ctx).replace(ctx.user, object_type(schema), accession, new, draft=draft)
        return {"accessionId": accession}

    @bp.route(f"/{prefix}/{{schema}}/{{accession}}", methods=["PATCH"], name=f"{prefix}_patch")
    @endpoint(bp)
    def patch(ctx: Ctx, schema: str, accession: str) -> Any:
        _service(ctx).require_writable(ctx.user, obj=(object_type(schema), accession, draft))
        _service(ctx).patch(ctx.user, object_type(schema), accession, ctx.json(), draft=draft)
        return {"accessionId": accession}

    @bp.route(f"/{prefix}/{{schema}}/{{accession}}", methods=["DELETE"], name=f"{prefix}_delete")
    @endpoint(bp)
    def delete(ctx: Ctx, schema: str, accession: str) -> Response:
        _service(ctx).delete(ctx.user, object_type(schema), accession, draft=draft)
        return Response(body="", status_code=204)


_object_routes("objects", draft=False)
_object_routes("drafts", draft=True)


# -- folders ------------------------------------------------------------------------------------
@bp.route("/folders", methods=["GET"])
@endpoint(bp)
def list_folders(ctx: Ctx) -> Any:
    published = ctx.query_one("published")
    if published not in (None, "true", "false"):
        raise ValidationError("published is true or false", field="published")
    found = _service(ctx).folders(
        ctx.user, published=None if published is None else published == "true", name=ctx.query_one("name")
    )
    return _page(ctx, found, "folders")


@bp.route("/folders", methods=["POST"])
@endpoint(bp)
def create_folder(ctx: Ctx) -> Response:
    folder = _service(ctx).create_folder(ctx.user, ctx.json())
    return created({"folderId": folder["folderId"]})


@bp.route("/folders/{folder_id}", methods=["GET"])
@endpoint(bp)
def get_folder(ctx: Ctx, folder_id: str) -> Any:
    return _service(ctx).folder(ctx.user, folder_id)


@bp.route("/folders/{folder_id}", methods=["PATCH"])
@endpoint(bp)
def patch_folder(ctx: Ctx, folder_id: str) -> Any:
    """A JSON Patch (RFC 6902) of ``add``/``replace`` operations on ``/name``,
    ``/description``, ``/projectId``, ``/editors``, ``/doiInfo``."""
    _service(ctx).require_writable(ctx.user, folder_id)
    _service(ctx).update_folder(ctx.user, folder_id, json_patch_changes(ctx.json()))
    return {"folderId": folder_id}


def json_patch_changes(operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list) or not operations:
        raise ValidationError("the body is a JSON Patch: a list of operations", field="body")
    changes: dict[str, Any] = {}
    for index, op in enumerate(operations):
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace") or not isinstance(op.get("path"), str):
            raise ValidationError(f"operation {index}: only add and replace, with a path, are supported", "body")
        name = op["path"].lstrip("/")
        if "/" in name or "value" not in op:
            raise ValidationError(f"operation {index}: a top-level field and a value", field=op["path"][:64])
        changes[name] = op["value"]
    return changes


@bp.route("/folders/{folder_id}", methods=["DELETE"])
@endpoint(bp)
def delete_folder(ctx: Ctx, folder_id: str) -> Response:
    _service(ctx).delete_folder(ctx.user, folder_id)
    return Response(body="", status_code=204)


@bp.route("/publish/{folder_id}", methods=["PATCH"])
@endpoint(bp)
def publish(ctx: Ctx, folder_id: str) -> Any:
    _service(ctx).publish(ctx.user, folder_id)
    return {"folderId": folder_id}


# -- users ----------------------------------------------------------------------------------------
@bp.route("/users/{user_id}", methods=["GET"])
@endpoint(bp)
def get_user(ctx: Ctx, user_id: str) -> Any:
    if user_id not in ("current", ctx.user.id):
        raise Forbidden("only the current user (/users/current) may be read")
    return _service(ctx).current_user(ctx.user)
