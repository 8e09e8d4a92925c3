"""Validation of the Data Tracker's request bodies (``/api/v1``): parsed JSON in, normalized values out.

Every function is pure and raises :class:`chalicelib.errors.ValidationError` (HTTP 400) naming the
field and the rule; messages quote at most ~60 characters of what the caller sent. One error is
reported at a time, in this order: the body's shape, prohibited keys, unknown keys, then the fields
in the order each ``parse_*`` documents.

Bodies come flat (``{"title": ...}``, the older Data Tracker) or wrapped (``{"order": {...}}``, the
newest); :func:`unwrap` accepts both (docs/research/data-tracker.md §0). The parsers return only the
fields the body has: filling defaults on create is the caller's business.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from chalicelib.catalogue.annotation_schemas import DECLARATION_RE
from chalicelib.catalogue.validation import ORCID_RE, orcid_checksum_ok, require_object, require_unicode
from chalicelib.errors import ValidationError
from chalicelib.tracker.topics import TOPICS

MAX_TITLE = 256
MAX_DESCRIPTION = 100_000
MAX_TAG_ENTRIES = 100  # per tags_standard / tags_user map
MAX_CROSS_REFERENCES = 100
MAX_LIST_USERS = 200  # per authors / generators / editors list
MAX_COLLECTION_DATASETS = 1000
MAX_TOPICS = 100
DEFAULT_KEY_NAME = "default"

DOI_RE = re.compile(r"(?:doi:|https://doi\.org/)?10\.[0-9]{4,9}/\S+", re.IGNORECASE)
CURIE_RE = re.compile(r"(?P<prefix>[A-Za-z][A-Za-z0-9._-]{0,39}):(?P<accession>\S+)")
# prefixes that would make a link run code or read local files if a client rendered the value as one
UNSAFE_PREFIXES = frozenset({"javascript", "data", "vbscript", "file"})
# prefixes that name a recognised scheme of their own: such a value is that scheme or nothing
OWN_SCHEME_PREFIXES = frozenset({"doi", "http", "https"})
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# uuid.UUID parses with int(..., 16), which also takes "_", "+" and surrounding blanks: only the
# documented spellings (canonical, 32 hex digits, braces, urn:uuid:) get that far
_DASHED = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# (the prefix in lower case only: uuid.UUID strips no other, so "URN:UUID:..." was a 500)
UUID_FORM_RE = re.compile(rf"(?-i:urn:uuid:)?(?:{_DASHED}|\{{{_DASHED}\}}|[0-9a-f]{{32}})", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Parser = Callable[[object, str], Any]


def _show(value: str, limit: int = 60) -> str:
    """``value`` quoted for a message, cut to ``limit`` characters."""
    return repr(value[:limit] + "…" if len(value) > limit else value)


def _str(value: object, field: str, *, max_len: int, min_len: int = 0) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string", field=field)
    if len(value) > max_len:
        raise ValidationError(f"{field} is longer than {max_len} characters", field=field)
    if len(value) < min_len:
        raise ValidationError(f"{field} must not be empty", field=field)
    return value


def _reject_unknown(data: Mapping[str, Any], allowed: set[str]) -> None:  # the first, alphabetically
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(f"unknown field: {_show(unknown[0])}", field=unknown[0][:100])


def _list(value: object, field: str, max_len: int) -> list[Any]:
    if not isinstance(value, list):
        raise ValidationError(f"{field} must be a list", field=field)
    if len(value) > max_len:
        raise ValidationError(f"{field} has more than {max_len} entries", field=field)
    return value


def unwrap(body: object, wrapper: str) -> dict[str, Any]:
    """The entity of a request body: ``body[wrapper]`` when the body is exactly
    ``{wrapper: {...}}`` (the newest Data Tracker's shape), else the body itself (the older flat
    shape). The body must be a JSON object; the result is a shallow copy."""
    data = require_object(body)
    if len(data) == 1 and isinstance(data.get(wrapper), dict):
        return dict(data[wrapper])
    return dict(data)


def parse_uuid(value: object, field: str) -> str:
    """A uuid string in any of ``uuid.UUID``'s documented spellings, returned canonical
    (36 lowercase characters)."""
    if not isinstance(value, str) or not UUID_FORM_RE.fullmatch(value):
        raise ValidationError(f"{field} must be a UUID", field=field)
    return str(uuidlib.UUID(value))


def _uuid_list(value: object, field: str, max_len: int) -> list[str]:
    seen: dict[str, None] = {}
    for i, raw in enumerate(_list(value, field, max_len)):
        if not isinstance(raw, str) or not UUID_FORM_RE.fullmatch(raw):
            raise ValidationError(f"{field}[{i}] must be a UUID", field=field)
        seen.setdefault(str(uuidlib.UUID(raw)), None)
    return list(seen)


def parse_title(value: object, field: str = "title") -> str:
    """A title: a string, stripped, 1-256 characters."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string", field=field)
    title = value.strip()
    if not title:
        raise ValidationError(f"{field} must not be empty", field=field)
    if len(title) > MAX_TITLE:
        raise ValidationError(f"{field} is longer than {MAX_TITLE} characters", field=field)
    return title


def parse_description(value: object, field: str = "description") -> str:
    """Markdown of at most 100,000 characters, stored as given."""
    return _str(value, field, max_len=MAX_DESCRIPTION)


def parse_tags(value: object, field: str) -> dict[str, str]:
    """A ``{str: str}`` map of at most 100 entries; keys 1-80 characters without surrounding
    whitespace, values at most 256 characters."""
    if not isinstance(value, dict):
        raise ValidationError(f"{field} must be an object of strings", field=field)
    if len(value) > MAX_TAG_ENTRIES:
        raise ValidationError(f"{field} has more than {MAX_TAG_ENTRIES} entries", field=field)
    out: dict[str, str] = {}
    for key, tag in value.items():
        if not 1 <= len(key) <= 80 or key != key.strip():
            raise ValidationError(
                f"{field} keys must be 1-80 characters without surrounding whitespace: {_show(key)}",
                field=field,
            )
        if not isinstance(tag, str) or len(tag) > 256:
            raise ValidationError(f"{field}[{_show(key)}] must be a string of at most 256 characters", field=field)
        out[key] = tag
    return out


def _is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def cross_reference_scheme(value: str, field: str = "cross_references") -> str:
    """The scheme of a cross-reference value: ``"doi"`` (``10.<4-9 digits>/<suffix>``, optionally
    after ``doi:`` or ``https://doi.org/``), ``"url"`` (http or https with a host) or ``"curie"``
    (``<prefix>:<accession>``, e.g. ``ENA:PRJEB1234``). Anything else, a value with whitespace or
    control characters, and the prefixes ``javascript``, ``data``, ``vbscript`` and ``file``
    raise ValidationError."""
    if _CONTROL_RE.search(value) or any(c.isspace() for c in value):
        raise ValidationError(f"{field} value must not contain whitespace or control characters", field=field)
    if DOI_RE.fullmatch(value):
        return "doi"
    if _is_web_url(value):
        return "url"
    m = CURIE_RE.fullmatch(value)
    if m:
        prefix = m.group("prefix").lower()
        if prefix in UNSAFE_PREFIXES:
            raise ValidationError(f"{field} value may not use the {prefix!r} scheme", field=field)
        # "ftp://x", "doi:10.1/x", "http://": a URL or DOI that failed its own check, not an accession
        if prefix not in OWN_SCHEME_PREFIXES and not m.group("accession").startswith("//"):
            return "curie"
    raise ValidationError(
        f"{field} value must be a DOI (10.1000/xyz), an http(s) URL or a compact identifier (ENA:PRJEB1234): "
        f"{_show(value)}",
        field=field,
    )


def parse_cross_references(value: object, field: str = "cross_references") -> list[dict[str, str]]:
    """At most 100 ``{"title": str 1-256, "value": str 1-1024}`` objects (exactly those keys),
    each value in a scheme :func:`cross_reference_scheme` recognises."""
    out: list[dict[str, str]] = []
    for i, raw in enumerate(_list(value, field, MAX_CROSS_REFERENCES)):
        entry = f"{field}[{i}]"
        if not isinstance(raw, dict) or set(raw) != {"title", "value"}:
            raise ValidationError(f"{entry} must be an object with exactly the keys title and value", field=field)
        try:
            title = _str(raw["title"], f"{entry}.title", max_len=256, min_len=1)
            ref = _str(raw["value"], f"{entry}.value", max_len=1024, min_len=1)
            cross_reference_scheme(ref, f"{entry}.value")
        except ValidationError as exc:  # the message names the entry, the field stays the body's key
            raise ValidationError(str(exc), field=field) from None
        out.append({"title": title, "value": ref})
    return out


def parse_user_list(value: object, field: str) -> list[str]:
    """At most 200 user ids (uuids), canonical, duplicates dropped keeping the first."""
    return _uuid_list(value, field, MAX_LIST_USERS)


def parse_organisation(value: object, field: str = "organisation") -> str:
    """``""`` or one user id (canonical)."""
    if value == "":
        return ""
    return parse_uuid(value, field)


def parse_dataset_ids(value: object, field: str = "datasets") -> list[str]:
    """At most 1000 dataset ids (uuids), canonical, duplicates dropped keeping the first."""
    return _uuid_list(value, field, MAX_COLLECTION_DATASETS)


def parse_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false", field=field)
    return value


def parse_annotation_schema(value: object, field: str = "annotation_schema") -> str:
    """The site-defined annotation schema an order declares for its datasets' annotations:
    ``""`` (none) or ``name`` (its latest version when a dataset is checked) or
    ``name/version``; whether it is registered is the orders service's check."""
    if value == "":
        return ""
    if not isinstance(value, str) or not DECLARATION_RE.fullmatch(value):
        raise ValidationError(f"{field} must be an annotation schema's name or name/version, or empty", field=field)
    return value


def _parse_entity(
    entity: Mapping[str, Any],
    parsers: Mapping[str, Parser],
    *,
    prohibited: Mapping[str, str],
    partial: bool,
    required: str = "title",
    aliases: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Refuse prohibited keys (``key -> message``) then unknown ones, then parse each field of
    ``parsers`` present, in the mapping's order; on create (not ``partial``) the ``required`` one
    must be present. ``aliases`` maps another accepted name to a field's (errors name the key
    the caller sent; giving both is an error)."""
    aliases = aliases or {}
    require_unicode(entity)
    for key, message in prohibited.items():
        if key in entity:
            raise ValidationError(message, field=key)
    _reject_unknown(entity, {*parsers, *aliases})
    sent = {name: name for name in parsers if name in entity}
    for alias, name in aliases.items():
        if alias in entity:
            if name in sent:
                raise ValidationError(f"give {name} or its alias {alias}, not both", field=alias)
            sent[name] = alias
    out: dict[str, Any] = {}
    for name, parser in parsers.items():
        if name in sent:
            out[name] = parser(entity[sent[name]], sent[name])
        elif not partial and name == required:
            raise ValidationError(f"missing field: {name}", field=name)
    return out


_SET_BY_CATALOGUE = {"_id": "_id is set by the catalogue", "id": "id is set by the catalogue"}
_ORDER_PROHIBITED = {**_SET_BY_CATALOGUE, "datasets": "datasets are added through /order/<id>/dataset/"}

_COMMON: dict[str, Parser] = {"title": parse_title, "description": parse_description}
_TAGS: dict[str, Parser] = {"tags_standard": parse_tags, "tags_user": parse_tags}
_USERS = parse_user_list
_XREFS = parse_cross_references
ORDER_FIELDS: Mapping[str, Parser] = {
    **_COMMON,
    "authors": _USERS,
    "generators": _USERS,
    "organisation": parse_organisation,
    "editors": _USERS,
    **_TAGS,
    "annotation_schema": parse_annotation_schema,
}
DATASET_FIELDS: Mapping[str, Parser] = {**_COMMON, **_TAGS, "cross_references": _XREFS, "published": parse_bool}
COLLECTION_FIELDS: Mapping[str, Parser] = {
    **_COMMON,
    **_TAGS,
    "cross_references": _XREFS,
    "editors": _USERS,
    "datasets": parse_dataset_ids,
    "published": parse_bool,
}


def parse_order(body: object, *, partial: bool) -> dict[str, Any]:
    """An order's fields from a flat or ``{"order": {...}}`` body: title (required unless
    ``partial``), description, authors, generators, organisation, editors, tags_standard,
    tags_user, annotation_schema. ``_id``, ``id`` and ``datasets`` are refused."""
    entity = unwrap(body, "order")
    return _parse_entity(entity, ORDER_FIELDS, prohibited=_ORDER_PROHIBITED, partial=partial)


def parse_dataset(body: object, *, partial: bool) -> dict[str, Any]:
    """A dataset's fields from a flat or ``{"dataset": {...}}`` body: title (required unless
    ``partial``), description, tags_standard, tags_user, cross_references, published."""
    entity = unwrap(body, "dataset")
    return _parse_entity(entity, DATASET_FIELDS, prohibited=_SET_BY_CATALOGUE, partial=partial)


def parse_new_dataset(body: object) -> tuple[str | None, dict[str, Any]]:
    """The older ``POST /dataset/`` body: the dataset's fields (as :func:`parse_dataset` on
    create) plus ``order``, the order's uuid (canonical), returned first; None when absent."""
    entity = unwrap(body, "dataset")
    order = parse_uuid(entity.pop("order"), "order") if "order" in entity else None
    # not parse_dataset: what is left of {"order": ..., "dataset": {...}} must not unwrap again
    return order, _parse_entity(entity, DATASET_FIELDS, prohibited=_SET_BY_CATALOGUE, partial=False)


def parse_collection(body: object, *, partial: bool) -> dict[str, Any]:
    """A collection's fields from a flat or ``{"collection": {...}}`` body: title (required unless
    ``partial``), description, tags_standard, tags_user, cross_references, editors, datasets,
    published."""
    entity = unwrap(body, "collection")
    return _parse_entity(entity, COLLECTION_FIELDS, prohibited=_SET_BY_CATALOGUE, partial=partial)


def parse_email(value: object, field: str = "email") -> str:
    """``local@domain.tld`` (no blanks, one ``@``), at most 256 characters; the domain lowercased."""
    email = _str(value, field, max_len=256)
    if not EMAIL_RE.fullmatch(email) or _CONTROL_RE.search(email):
        raise ValidationError(f"{field} must look like name@example.org", field=field)
    local, domain = email.split("@")
    return f"{local}@{domain.lower()}"


def parse_orcid(value: object, field: str = "orcid") -> str:
    """``""`` or an ORCID iD ``0000-0002-1825-0097`` whose last character is its ISO 7064 11,2
    check digit (``X`` for 10; a lowercase ``x`` is returned uppercase)."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string", field=field)
    if value == "":
        return ""
    orcid = value[:-1] + value[-1].upper()
    if not (ORCID_RE.fullmatch(orcid) and orcid_checksum_ok(orcid)):
        raise ValidationError(
            f"{field} must look like 0000-0002-1825-0097, its last character the ISO 7064 11,2 check digit",
            field=field,
        )
    return orcid


def parse_web_url(value: object, field: str = "url") -> str:
    """``""`` or an http/https URL with a host, at most 2048 characters, without blanks."""
    url = _str(value, field, max_len=2048)
    if url and (_CONTROL_RE.search(url) or any(c.isspace() for c in url) or not _is_web_url(url)):
        raise ValidationError(f"{field} must be an http:// or https:// URL with a host", field=field)
    return url


def parse_permissions(value: object, field: str = "permissions") -> list[str]:
    """Permission topic names (:data:`chalicelib.tracker.topics.TOPICS`), deduplicated and sorted."""
    topics = _list(value, field, MAX_TOPICS)
    for t in topics:
        if not isinstance(t, str):
            raise ValidationError(f"{field} entries must be topic names (strings)", field=field)
        if t not in TOPICS:
            raise ValidationError(
                f"{field}: unknown topic {_show(t)} (topics: {', '.join(sorted(TOPICS))})", field=field
            )
    return sorted(set(topics))


def _bounded(max_len: int) -> Parser:
    return lambda value, field: _str(value, field, max_len=max_len)


USER_FIELDS: Mapping[str, Parser] = {
    "name": _bounded(256),
    "email": parse_email,
    "contact": _bounded(512),
    "affiliation": _bounded(256),
    "orcid": parse_orcid,
    "url": parse_web_url,
    "permissions": parse_permissions,
}
_USER_PROHIBITED = {
    **_SET_BY_CATALOGUE,
    "auth_ids": "auth_ids is set by the catalogue when the user signs in",
    "api_key": "api_key is made through POST /user/<id>/apikey/",
    "api_salt": "api_salt is made through POST /user/<id>/apikey/",
}
_OWN_PROHIBITED = {
    **_USER_PROHIBITED,
    "email": "email is changed by a user manager (PATCH /user/<id>/), not through /user/me/",
    "permissions": "permissions are changed by a user manager (PATCH /user/<id>/), not through /user/me/",
}


def parse_user(body: object, *, partial: bool, own: bool) -> dict[str, Any]:
    """A user's fields from a flat or ``{"user": {...}}`` body: name, email (required unless
    ``partial``), contact (the seed's ``email_public`` is an alias, returned as ``contact``),
    affiliation, orcid, url, permissions. ``_id``, ``id``, ``auth_ids``, ``api_key`` and
    ``api_salt`` are refused; so are ``email`` and ``permissions`` when ``own`` (a user editing
    themself through /user/me/)."""
    entity = unwrap(body, "user")
    prohibited, aliases = (_OWN_PROHIBITED if own else _USER_PROHIBITED), {"email_public": "contact"}
    return _parse_entity(entity, USER_FIELDS, prohibited=prohibited, partial=partial, required="email", aliases=aliases)


def parse_api_key_request(body: object | None) -> str:
    """The name of a new API key from ``{"name": "..."}``: 1-80 printable characters, stripped;
    an absent body (None) or ``{}`` gives ``"default"``."""
    data = require_object({} if body is None else body)
    require_unicode(data)
    _reject_unknown(data, {"name"})
    if "name" not in data:
        return DEFAULT_KEY_NAME
    if not isinstance(data["name"], str):
        raise ValidationError("name must be a string", field="name")
    name = data["name"].strip()
    if not 1 <= len(name) <= 80 or not name.isprintable():
        raise ValidationError("name must be 1-80 printable characters", field="name")
    return name


def parse_key_login(body: object) -> str:
    """The key presented to ``POST /login/apikey/``: ``{"api-key": "<id>.<secret>"}`` (the
    original's body, whose ``"api-user"`` is accepted and ignored) or ``{"key": ...}``. A string
    of 1-200 characters, not checked further here."""
    data = require_object(body)
    require_unicode(data)
    _reject_unknown(data, {"api-user", "api-key", "key"})
    given = [k for k in ("api-key", "key") if k in data]
    if not given:
        raise ValidationError("missing field: api-key", field="api-key")
    if len(given) > 1:
        raise ValidationError("give api-key or key, not both", field="key")
    return _str(data[given[0]], given[0], max_len=200, min_len=1)
