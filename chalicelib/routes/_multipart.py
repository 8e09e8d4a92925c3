"""Request bodies of the submission routes: multipart forms (read with the standard library's
MIME parser), XML, CSV and JSON, told apart by their ``Content-Type``, made into objects."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesParser

from chalicelib.errors import ValidationError
from chalicelib.routes._http import Ctx
from chalicelib.submissions.service import NewObject, Submissions
from chalicelib.submissions.types import ObjectType

MAX_PARTS = 50
XML_TYPES = frozenset({"application/xml", "text/xml"})
CSV_TYPES = frozenset({"text/csv", "application/csv"})
# what the routes that take documents accept (Chalice answers 415 to anything else)
BODY_TYPES = ["application/json", *sorted(XML_TYPES), *sorted(CSV_TYPES), "multipart/form-data"]


@dataclass(frozen=True)
class Part:
    """One field of a multipart form: its name (the object type, in metadata-submitter's
    forms), the file name it came with, and its bytes."""

    name: str
    filename: str
    content_type: str
    data: bytes


def media_type(ctx: Ctx) -> str:
    return (ctx.header("content-type") or "").split(";")[0].strip().lower()


def raw(ctx: Ctx) -> bytes:
    body = ctx.request.raw_body
    if not body:
        raise ValidationError("a body is required", field="body")
    return body if isinstance(body, bytes) else str(body).encode()


def form_parts(ctx: Ctx) -> list[Part]:
    """The fields of a ``multipart/form-data`` body, in order."""
    content_type = ctx.header("content-type") or ""
    if media_type(ctx) != "multipart/form-data" or "boundary=" not in content_type:
        raise ValidationError("the body must be multipart/form-data with a boundary", field="Content-Type")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + raw(ctx))
    if not message.is_multipart():
        raise ValidationError("the multipart body cannot be read", field="body")
    parts: list[Part] = []
    for part in message.iter_parts():
        if len(parts) >= MAX_PARTS:
            raise ValidationError(f"at most {MAX_PARTS} files per request", field="body")
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not name or not isinstance(payload, bytes):
            raise ValidationError("each part of the form needs a name and a body", field="body")
        parts.append(Part(name, part.get_filename() or "", part.get_content_type(), payload))
    if not parts:
        raise ValidationError("the form holds no file", field="body")
    return parts


def text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"the {what} is not UTF-8 text", field="body") from None


def new_objects(ctx: Ctx, service: Submissions, type_: ObjectType) -> list[NewObject]:
    """The objects a body holds, by its ``Content-Type``: JSON (one object or a list), XML (a
    file, or a multipart form of files), or for samples a CSV sheet (also as a form's file)."""
    kind = media_type(ctx)
    if kind in XML_TYPES:
        return service.parse_xml(raw(ctx), type_)
    if kind in CSV_TYPES:
        return _samples(service, type_, raw(ctx))
    if kind == "multipart/form-data":
        out: list[NewObject] = []
        for part in form_parts(ctx):
            if part.content_type in CSV_TYPES or part.filename.lower().endswith(".csv"):
                out.extend(_samples(service, type_, part.data))
            else:
                out.extend(service.parse_xml(part.data, type_))
        return out
    return service.parse_json(type_, ctx.json())


def _samples(service: Submissions, type_: ObjectType, data: bytes) -> list[NewObject]:
    if type_.name != "sample":
        raise ValidationError("CSV sheets hold samples only", field="Content-Type")
    return service.samples_from_csv(text(data, "CSV"))
