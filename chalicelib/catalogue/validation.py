"""Parsing of untrusted input into domain values. Every failure is a ValidationError naming the field."""

from __future__ import annotations

import io
import json
import math
import re
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import yaml

from chalicelib.catalogue.cursors import decode_cursor
from chalicelib.catalogue.search import MAX_RESULT_WINDOW, SearchQuery
from chalicelib.catalogue.search_syntax import parse_search_text
from chalicelib.domain import KINDS, RESERVED_USERNAMES, DatasetContent, Manifest, ManifestItem
from chalicelib.errors import ValidationError

MAX_PAGE_SIZE = 100
TAG_RE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
ANNOTATION_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,128}$")
BASE_URI_SCHEMES = ("s3", "file", "smb", "azure", "ecs", "irods")
# A character of a base URI: no control character, white space, '?', '#' or '%'. Spelled out
# rather than ``\s``: Python's ``\s`` and JSON Schema's (ECMA-262) differ (\x1c-\x1f, \x85), and
# the API description states the same class (chalicelib/openapi/request_schemas.py).
URI_CHAR = "[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff?#%]"
BASE_URI_RE = re.compile(rf"^(?P<scheme>[a-z0-9]+)://(?P<rest>{URI_CHAR}+)$")
ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
SORT_FIELDS = {"registered", "created", "name", "frozen", "updated"}
# An e-mail address as myMdC's X-User-Email names the acting person: a local part and a dotted
# domain, no whitespace or control character (an explicit class: Python's and ECMA's ``\s``
# differ, and the API description states the same pattern)
EMAIL_PATTERN = r"[^@\x00-\x20\x7f-\xa0]{1,64}@[^@.\x00-\x20\x7f-\xa0]+(\.[^@.\x00-\x20\x7f-\xa0]+)+"


def require_object(body: object, name: str = "body") -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError(f"{name} must be a JSON object", field=name)
    return body


def reject_unknown(body: Mapping[str, Any], allowed: set[str], prefix: str = "") -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError(f"unknown field: {prefix}{unknown[0]}", field=f"{prefix}{unknown[0]}")


def get_str(
    body: Mapping[str, Any],
    key: str,
    *,
    required: bool = True,
    default: str = "",
    max_len: int = 1024,
    min_len: int = 0,
    prefix: str = "",
) -> str:
    if key not in body or body[key] is None:
        if required:
            raise ValidationError(f"missing field: {prefix}{key}", field=f"{prefix}{key}")
        return default
    value = body[key]
    if not isinstance(value, str):
        raise ValidationError(f"{prefix}{key} must be a string", field=f"{prefix}{key}")
    if len(value) > max_len:
        raise ValidationError(f"{prefix}{key} is longer than {max_len} characters", field=f"{prefix}{key}")
    if len(value) < min_len:
        raise ValidationError(f"{prefix}{key} must not be empty", field=f"{prefix}{key}")
    return value


def get_int(body: Mapping[str, Any], key: str, *, required: bool = False, default: int = 0, prefix: str = "") -> int:
    if key not in body or body[key] is None:
        if required:
            raise ValidationError(f"missing field: {prefix}{key}", field=f"{prefix}{key}")
        return default
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**53:
        raise ValidationError(f"{prefix}{key} must be a non-negative integer", field=f"{prefix}{key}")
    return value


def get_timestamp(
    body: Mapping[str, Any], key: str, *, required: bool = True, default: float = 0.0, prefix: str = ""
) -> float:
    """A float epoch timestamp; dtool-lookup-server 0.18 clients send it as a numeric string."""
    if key not in body or body[key] is None:
        if required:
            raise ValidationError(f"missing field: {prefix}{key}", field=f"{prefix}{key}")
        return default
    value = body[key]
    if isinstance(value, bool):
        raise ValidationError(f"{prefix}{key} must be a number", field=f"{prefix}{key}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError as exc:
            raise ValidationError(f"{prefix}{key} must be a number", field=f"{prefix}{key}") from exc
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 or value > 1e11:
        raise ValidationError(f"{prefix}{key} must be a timestamp in seconds", field=f"{prefix}{key}")
    return float(value)


def parse_uuid(value: object, field: str = "uuid") -> str:
    if not isinstance(value, str) or len(value) != 36:
        raise ValidationError(f"{field} must be a UUID", field=field)
    try:
        return str(uuidlib.UUID(value))
    except ValueError as exc:
        raise ValidationError(f"{field} must be a UUID", field=field) from exc


def parse_base_uri(value: object, field: str = "base_uri") -> str:
    if not isinstance(value, str) or len(value) > 1024:
        raise ValidationError(f"{field} must be a string of at most 1024 characters", field=field)
    m = BASE_URI_RE.fullmatch(value)
    if not m or m.group("scheme") not in BASE_URI_SCHEMES:
        raise ValidationError(
            f"{field} must look like s3://bucket[/prefix] (schemes: {', '.join(BASE_URI_SCHEMES)})", field=field
        )
    if value.endswith("/") or "//" in m.group("rest") or ".." in value.split("/"):
        raise ValidationError(f"{field} must not end with '/' or contain empty or '..' segments", field=field)
    return value


MAX_TAGS = 100  # per dataset


def parse_tags(value: object, field: str = "tags") -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise ValidationError(f"{field} must be a list of at most {MAX_TAGS} tags", field=field)
    for t in value:
        if not isinstance(t, str) or not TAG_RE.fullmatch(t):
            raise ValidationError(f"{field} entries must match {TAG_RE.pattern}", field=field)
    return tuple(sorted(set(value)))


MAX_ANNOTATION_DEPTH = 20


def _depth(value: object, limit: int) -> int:
    """Nesting depth of a JSON value, counted without recursion and stopping past ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            break
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


def parse_annotations(value: object, field: str = "annotations") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"{field} must be a JSON object", field=field)
    if _depth(value, MAX_ANNOTATION_DEPTH) > MAX_ANNOTATION_DEPTH:
        raise ValidationError(f"{field} may nest at most {MAX_ANNOTATION_DEPTH} levels", field=field)
    for k in value:
        if not ANNOTATION_NAME_RE.fullmatch(k):
            raise ValidationError(f"{field} names must match {ANNOTATION_NAME_RE.pattern}", field=f"{field}.{k}"[:200])
    return dict(value)


def parse_manifest(value: object) -> Manifest:
    body = require_object(value, "manifest")
    reject_unknown(body, {"hash_function", "dtoolcore_version", "items"}, "manifest.")
    items_raw = body.get("items", {})
    if not isinstance(items_raw, dict):
        raise ValidationError("manifest.items must be an object", field="manifest.items")
    items: dict[str, ManifestItem] = {}
    for item_id, raw in items_raw.items():
        prefix = "manifest.items."
        item = require_object(raw, f"{prefix}{item_id}"[:200])
        reject_unknown(item, {"relpath", "size_in_bytes", "hash", "utc_timestamp"}, prefix)
        items[str(item_id)[:200]] = ManifestItem(
            relpath=get_str(item, "relpath", max_len=4096, min_len=1, prefix=prefix),
            size_in_bytes=get_int(item, "size_in_bytes", required=True, prefix=prefix),
            hash=get_str(item, "hash", max_len=256, prefix=prefix),
            utc_timestamp=get_timestamp(item, "utc_timestamp", required=False, prefix=prefix),
        )
    return Manifest(
        hash_function=get_str(body, "hash_function", required=False, default="md5sum_hexdigest", max_len=128),
        dtoolcore_version=get_str(body, "dtoolcore_version", required=False, max_len=64) or None,
        items=items,
    )


@dataclass(frozen=True)
class Registration:
    content: DatasetContent
    base_uri: str
    uri: str
    # description is the catalogue's own field (dtool has none): a registration without
    # one keeps the description edited through the API
    has_description: bool = True


REGISTER_FIELDS = {
    "uuid",
    "base_uri",
    "uri",
    "name",
    "type",
    "readme",
    "manifest",
    "creator_username",
    "frozen_at",
    "created_at",
    "annotations",
    "tags",
    "number_of_items",
    "size_in_bytes",
    "description",
    "dtoolcore_version",
}


def require_unicode(value: object, field: str = "body") -> None:
    """Refuse strings that are not valid Unicode: a lone surrogate (JSON's ``"\\ud800"`` or
    YAML's ``"\\ud800"`` escape) cannot be encoded as UTF-8, so it could be stored but never
    indexed or served. Other problems are left for the field parsers to name."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError("strings must be valid Unicode (a lone surrogate is not)", field=field) from exc
    except (TypeError, ValueError, RecursionError):
        pass


def parse_registration(body: object, kind: str | None = None) -> Registration:
    """The registration ``body`` describes; ``kind`` is what the registering service knows
    the entry to be (one of :data:`chalicelib.domain.KINDS`; never read from the body)."""
    data = require_object(body)
    require_unicode(data)
    reject_unknown(data, REGISTER_FIELDS)
    uuid = parse_uuid(data.get("uuid"))
    base_uri = parse_base_uri(data.get("base_uri"))
    uri = get_str(data, "uri", max_len=2048)
    if not uri.startswith(base_uri + "/") or uri == base_uri + "/":
        raise ValidationError("uri must lie under base_uri", field="uri")
    if data.get("type", "dataset") != "dataset":
        raise ValidationError("type must be 'dataset' (proto datasets are not registered)", field="type")
    manifest = parse_manifest(data.get("manifest", {}))
    frozen_at = get_timestamp(data, "frozen_at")
    content = DatasetContent(
        uuid=uuid,
        name=get_str(data, "name", max_len=256, min_len=1),
        creator_username=get_str(data, "creator_username", max_len=256, min_len=1),
        created_at=get_timestamp(data, "created_at", required=False, default=frozen_at),
        frozen_at=frozen_at,
        readme=get_readme(data),
        manifest=manifest,
        annotations=parse_annotations(data.get("annotations", {})),
        tags=parse_tags(data.get("tags", [])),
        description=get_str(data, "description", required=False, max_len=4096),
        number_of_items=get_int(data, "number_of_items", default=len(manifest.items)),
        size_in_bytes=get_int(data, "size_in_bytes", default=manifest.total_size),
        kind=kind,
    )
    return Registration(content=content, base_uri=base_uri, uri=uri, has_description="description" in data)


MAX_README_CHARS = 10 * 1024 * 1024


def get_readme(data: Mapping[str, Any]) -> str:
    """The README as YAML text; dtool-lookup-server before 0.18 took it as a mapping too
    (what ``yaml.safe_load`` of the README gives), which is written back as YAML."""
    value = data.get("readme")
    if isinstance(value, dict):
        # written piecewise into a bounded buffer: YAML indents each level, so a mapping of
        # nested lists in a 1 MiB body would make hundreds of MB of text before its length is checked
        text = _BoundedText(MAX_README_CHARS)
        try:
            yaml.safe_dump(value, text, sort_keys=False, allow_unicode=True)
        except (yaml.YAMLError, RecursionError) as exc:
            raise ValidationError("readme must be YAML text or a mapping", field="readme") from exc
        value = text.getvalue()
    return get_str({"readme": value}, "readme", required=False, max_len=MAX_README_CHARS)


class _BoundedText(io.StringIO):
    """A text buffer that refuses (as ``readme``'s ValidationError) to grow past ``limit`` characters."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit

    def write(self, s: str) -> int:
        if self.tell() + len(s) > self._limit:
            raise ValidationError(f"readme is longer than {self._limit} characters", field="readme")
        return super().write(s)


@dataclass(frozen=True)
class DatasetPatch:
    tags: tuple[str, ...] | None
    annotations: dict[str, Any] | None
    description: str | None
    version: int | None


def parse_patch(body: object, if_match: str | None) -> DatasetPatch:
    data = require_object(body)
    require_unicode(data)
    reject_unknown(data, {"tags", "annotations", "description", "version"})
    if not set(data) - {"version"}:
        raise ValidationError("nothing to change: give tags, annotations or description", field="body")
    version: int | None = None
    if "version" in data:
        version = get_int(data, "version", required=True)
    if if_match is not None:
        raw = if_match.strip().strip('"').removeprefix("W/").strip('"')
        if not _ASCII_DIGITS.fullmatch(raw):
            raise ValidationError("If-Match must be a dataset version", field="If-Match")
        header_version = int(raw)
        if version is not None and version != header_version:
            raise ValidationError("If-Match and version disagree", field="version")
        version = header_version
    if version is None:
        raise ValidationError("an edit needs the version it is based on (If-Match or version)", field="version")
    return DatasetPatch(
        tags=parse_tags(data["tags"]) if "tags" in data else None,
        annotations=parse_annotations(data["annotations"]) if "annotations" in data else None,
        description=get_str(data, "description", max_len=4096) if "description" in data else None,
        version=version,
    )


def orcid_checksum_ok(orcid: str) -> bool:
    """Whether the last character of an ORCID iD is the ISO 7064 11,2 check digit of the
    other fifteen digits (ORCID's own algorithm; ``X`` stands for 10)."""
    digits = orcid.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


def parse_username(value: object, field: str = "username") -> str:
    """A catalogue username: the documented pattern, and none of the catalogue's own actors."""
    if not isinstance(value, str) or not USERNAME_RE.fullmatch(value):
        raise ValidationError(f"{field} must match {USERNAME_RE.pattern}", field=field)
    if value.lower() in RESERVED_USERNAMES:
        raise ValidationError(f"{field} {value!r} is reserved for the catalogue's own actors", field=field)
    return value


@dataclass(frozen=True)
class UserFields:
    is_admin: bool | None = None
    display_name: str | None = None
    email: str | None = None
    orcid: str | None = None


def parse_user_fields(data: Mapping[str, Any]) -> UserFields:
    is_admin = data.get("is_admin")
    if is_admin is not None and not isinstance(is_admin, bool):
        raise ValidationError("is_admin must be true or false", field="is_admin")
    orcid = get_str(data, "orcid", required=False, max_len=19) if "orcid" in data else None
    if orcid and not (ORCID_RE.fullmatch(orcid) and orcid_checksum_ok(orcid)):
        raise ValidationError(
            "orcid must look like 0000-0002-1825-0097, its last character the ISO 7064 11,2 check digit", field="orcid"
        )
    email = get_str(data, "email", required=False, max_len=256) if "email" in data else None
    if email and "@" not in email:
        raise ValidationError("email must contain '@'", field="email")
    return UserFields(
        is_admin=is_admin,
        display_name=get_str(data, "display_name", required=False, max_len=256) if "display_name" in data else None,
        email=email,
        orcid=orcid,
    )


def parse_new_user(body: object) -> tuple[str, UserFields]:
    data = require_object(body)
    reject_unknown(data, {"username", "is_admin", "display_name", "email", "orcid"})
    return parse_username(data.get("username")), parse_user_fields(data)


def parse_user_patch(body: object) -> tuple[UserFields, int | None]:
    data = require_object(body)
    reject_unknown(data, {"is_admin", "display_name", "email", "orcid", "version"})
    version = get_int(data, "version") if "version" in data else None
    return parse_user_fields(data), version


def parse_new_base_uri(body: object) -> tuple[str, str]:
    data = require_object(body)
    reject_unknown(data, {"base_uri", "description"})
    return parse_base_uri(data.get("base_uri")), get_str(data, "description", required=False, max_len=1024)


def parse_base_uri_patch(body: object) -> tuple[bool | None, str | None]:
    """``{"public"?: bool, "description"?: str}`` for PATCH /base-uris/{b}: at least one."""
    data = require_object(body)
    reject_unknown(data, {"public", "description"})
    if not data:
        raise ValidationError("nothing to change: give public and/or description", field="public")
    public = data.get("public")
    if "public" in data and not isinstance(public, bool):
        raise ValidationError("public must be true or false", field="public")
    description = get_str(data, "description", required=False, max_len=1024) if "description" in data else None
    return public, description


MAX_PERMISSION_USERS = 1000  # per permission list of a base URI


def parse_permissions(body: object) -> tuple[frozenset[str], frozenset[str]]:
    data = require_object(body)
    reject_unknown(data, {"users_with_search_permissions", "users_with_register_permissions"})
    out: list[frozenset[str]] = []
    for key in ("users_with_search_permissions", "users_with_register_permissions"):
        raw = data.get(key)
        if not isinstance(raw, list) or len(raw) > MAX_PERMISSION_USERS:
            raise ValidationError(f"{key} must be a list of at most {MAX_PERMISSION_USERS} usernames", field=key)
        out.append(frozenset(parse_username(u, key) for u in raw))
    return out[0], out[1]


def parse_put_user(body: object, username: str) -> bool:
    """dserver's ``{"is_admin": bool[, "username"]}`` for PUT /users/{username}: the admin
    right (default false); a ``username`` in the body must be the one in the path."""
    data = require_object(body)
    reject_unknown(data, {"username", "is_admin"})
    _same_as_path(data, "username", username)
    is_admin = data.get("is_admin", False)
    if not isinstance(is_admin, bool):
        raise ValidationError("is_admin must be true or false", field="is_admin")
    return is_admin


def parse_put_base_uri(body: object, base_uri: str) -> tuple[frozenset[str], frozenset[str]]:
    """dserver's PUT /base-uris/{base_uri} body: both permission lists (and optionally the
    ``base_uri``, which must be the one in the path)."""
    data = dict(require_object(body))
    _same_as_path(data, "base_uri", base_uri)
    data.pop("base_uri", None)
    return parse_permissions(data)


def _same_as_path(data: Mapping[str, Any], key: str, value: str) -> None:
    if key in data and data[key] != value:
        raise ValidationError(f"{key} in the body is not the one in the path", field=key)


MAX_CURSOR_CHARS = 8192
MAX_FILTER_VALUES = 50
# the filters of a search (each may repeat), its facets' parameters, and the search's own
SEARCH_FILTERS = ("base_uri", "creator", "tag", "uuid", "project", "type")
FACETS_PARAMS = {"q", *SEARCH_FILTERS}
SEARCH_PARAMS = {*FACETS_PARAMS, "sort", "page", "page_size", "after", "highlight"}


_ASCII_DIGITS = re.compile(r"[0-9]{1,9}")


def parse_positive_int(raw: str, field: str, maximum: int) -> int:
    """A query or header integer: ASCII digits only (``str.isdigit`` also accepts ``²`` and
    ``٣``, which ``int`` refuses or reads as another number), between 1 and ``maximum``."""
    if not _ASCII_DIGITS.fullmatch(raw):
        raise ValidationError(f"{field} must be a positive integer", field=field)
    value = int(raw)
    if value < 1 or value > maximum:
        raise ValidationError(f"{field} must be between 1 and {maximum}", field=field)
    return value


def parse_search(multi: Mapping[str, list[str]], max_query_chars: int) -> SearchQuery:
    """Parse query-string parameters (each name may repeat) into a search that covers
    nothing yet: ``allowed_base_uris`` is empty until the service sets the caller's."""
    reject_unknown(multi, SEARCH_PARAMS)
    for key in ("q", "sort", "page", "page_size", "after", "highlight"):
        if len(multi.get(key, [])) > 1:
            raise ValidationError(f"{key} may be given once", field=key)

    def one(key: str, default: str = "") -> str:
        return multi.get(key, [default])[0]

    filtered = _search_filters(multi, max_query_chars)
    sort = one("sort", "-registered")
    descending = sort.startswith("-")
    sort_field = sort.lstrip("-")
    if sort_field not in SORT_FIELDS:
        raise ValidationError(f"sort must be one of {sorted(SORT_FIELDS)}, optionally prefixed by '-'", field="sort")
    page = parse_positive_int(one("page", "1"), "page", MAX_RESULT_WINDOW)
    page_size = parse_positive_int(one("page_size", "10"), "page_size", MAX_PAGE_SIZE)
    after = one("after") or None
    if after is None and page * page_size > MAX_RESULT_WINDOW:
        raise ValidationError(
            f"page * page_size may not exceed {MAX_RESULT_WINDOW}; follow the 'after' cursor of the Link header",
            field="page",
        )
    # a cursor holds a sort value (a name: up to 256 characters, escaped in JSON) and an
    # entry id (a uuid and a base URI of up to 1024 characters), base64-encoded
    if after is not None and len(after) > MAX_CURSOR_CHARS:
        raise ValidationError("after is too long", field="after")
    highlight = one("highlight", "false")
    if highlight not in ("true", "false"):
        raise ValidationError("highlight must be true or false", field="highlight")
    return replace(
        filtered,
        sort=sort_field,
        descending=descending,
        offset=(page - 1) * page_size,
        size=page_size,
        after=decode_cursor(after) if after is not None else None,
        highlight=highlight == "true",
    )


def parse_facets(multi: Mapping[str, list[str]], max_query_chars: int) -> SearchQuery:
    """The parameters of ``GET /datasets/facets``: the text and filters of :func:`parse_search`
    (sorting, paging and ``highlight`` are unknown parameters here); covers nothing yet."""
    reject_unknown(multi, FACETS_PARAMS)
    if len(multi.get("q", [])) > 1:
        raise ValidationError("q may be given once", field="q")
    return _search_filters(multi, max_query_chars)


def _search_filters(multi: Mapping[str, list[str]], max_query_chars: int) -> SearchQuery:
    text = multi.get("q", [""])[0]
    if len(text) > max_query_chars:
        raise ValidationError(f"q is longer than {max_query_chars} characters", field="q")
    for key in SEARCH_FILTERS:
        values = multi.get(key, [])
        if len(values) > MAX_FILTER_VALUES:
            raise ValidationError(f"at most {MAX_FILTER_VALUES} values of {key}", field=key)
        if sum(len(v) for v in values) > max_query_chars * 8:
            raise ValidationError(f"{key} values are too long", field=key)
    parsed = parse_search_text(text, field="q")
    return SearchQuery(
        text=parsed.text,
        annotations=parsed.annotations,
        allowed_base_uris=frozenset(),  # fail closed: the service sets the caller's
        base_uris=tuple(parse_base_uri(b) for b in multi.get("base_uri", [])),
        creators=tuple(get_str({"creator": c}, "creator", max_len=256) for c in multi.get("creator", [])),
        tags=tuple(parse_tags(multi.get("tag", []), "tag")),
        uuids=tuple(parse_uuid(u) for u in multi.get("uuid", [])),
        projects=tuple(get_str({"project": p}, "project", max_len=256, min_len=1) for p in multi.get("project", [])),
        types=tuple(_parse_type(t) for t in multi.get("type", [])),
    )


def _parse_type(value: str) -> str:
    if value not in KINDS:
        raise ValidationError(f"type must be one of {', '.join(KINDS)}", field="type")
    return value
