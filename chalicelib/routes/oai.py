"""/oai: OAI-PMH 2.0 for harvesters (anonymous; README "OAI-PMH")."""

from __future__ import annotations

from urllib.parse import parse_qs

from chalice.app import Blueprint, Request, Response

from chalicelib.errors import ValidationError
from chalicelib.routes._http import Ctx, endpoint

bp = Blueprint(__name__)
FORM = "application/x-www-form-urlencoded"
XML_TYPE = "text/xml; charset=utf-8"


@bp.route("/oai", methods=["GET"])
@endpoint(bp, auth=False)
def oai_get(ctx: Ctx) -> Response:
    """OAI-PMH 2.0: the public datasets' records for harvesters (`verb=Identify`,
    `ListMetadataFormats`, `ListSets`, `ListIdentifiers`, `ListRecords`, `GetRecord`), in
    `oai_dc`, `oai_datacite` and `datacite`. Only registered entries under public base URIs
    are listed, deletions included (`deletedRecord` is `persistent`); one record per dataset
    uuid, `oai:<repository identifier>:<uuid>`. Every answer is `text/xml` with HTTP 200, the
    protocol's errors included (`<error code="badArgument">`…)."""
    return _answer(ctx, ctx.query())


# JSON too: Chalice takes a POST without a Content-Type for JSON, and would refuse it (415,
# with no Content-Type of its own) before the protocol could answer badVerb
@bp.route("/oai", methods=["POST"], content_types=[FORM, "application/json"])
@endpoint(bp, auth=False)
def oai_post(ctx: Ctx) -> Response:
    """The same as `GET /oai`, the arguments sent as an `application/x-www-form-urlencoded`
    body (a body of any other type is read as such a form too)."""
    raw = ctx.request.raw_body or b""
    try:
        body = raw if isinstance(raw, str) else raw.decode()
    except UnicodeDecodeError as exc:
        raise ValidationError("the form is not UTF-8", field="body") from exc
    return _answer(ctx, parse_qs(body, keep_blank_values=True))


def _answer(ctx: Ctx, params: dict[str, list[str]]) -> Response:
    body: bytes = ctx.root.oai.respond(params, base_url(ctx.request))
    # text, not bytes: API Gateway (and chalice) send a str body of a text type as UTF-8
    return Response(body=body.decode(), status_code=200, headers={"Content-Type": XML_TYPE})


def base_url(request: Request) -> str:
    """Where the request came to (``CATALOGUE_OAI_BASE_URL`` overrides it): API Gateway's
    domain and path (with its stage) behind https, or ``chalice local``'s host."""
    headers = request.headers
    context = request.context or {}
    host = context.get("domainName") or headers.get("host") or "localhost"
    scheme = headers.get("x-forwarded-proto") or ("https" if context.get("domainName") else "http")
    return f"{scheme}://{host}{context.get('path') or '/oai'}"
