"""The bodies SciLifeLab Data Tracker's API (``/api/v1``) takes, described as exactly as
:mod:`chalicelib.tracker.fields` parses them: every field's rule, unknown and prohibited keys
refused (``additionalProperties: false``), flat or wrapped in the kind's name. The catalogue's
own ``/projects`` and ``/collections`` take the same fields (and a ``version`` on PATCH).

What no schema states is each operation's ``Doc.refusals``: a user, dataset or annotation
schema named that does not exist, an ORCID iD whose check digit is wrong, a key name with a
character that is not printable.
"""

from __future__ import annotations

import re

from chalicelib.catalogue.annotation_schemas import NAME_PATTERN
from chalicelib.openapi.compat_text import NOT_BLANK, SPACE, VISIBLE, stripped
from chalicelib.openapi.shapes import JSON
from chalicelib.openapi.shapes import ref as _ref
from chalicelib.tracker.fields import (
    MAX_COLLECTION_DATASETS,
    MAX_CROSS_REFERENCES,
    MAX_DESCRIPTION,
    MAX_LIST_USERS,
    MAX_TAG_ENTRIES,
    MAX_TITLE,
    MAX_TOPICS,
)
from chalicelib.tracker.topics import TOPICS


def any_case(word: str) -> str:
    """``word`` in any case, as a regular expression."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


_HEX = "[0-9a-fA-F]"
_DASHED = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
# uuid.UUID's documented spellings (fields.UUID_FORM_RE): canonical, braced, 32 digits, urn:uuid:
UUID_FORM: JSON = {
    "type": "string",
    "pattern": rf"^(?:urn:uuid:)?(?:{_DASHED}|\{{{_DASHED}\}}|{_HEX}{{32}})$",
    "description": "a uuid (hex digits in any case): canonical, in braces or 32 digits, optionally after `urn:uuid:`",
    "examples": ["3f2b8c1e-5d4a-4e6f-9a7b-0c1d2e3f4a5b"],
}
# a character of a value that may hold no blank and no control character
_VISIBLE = VISIBLE
_HOST = f"[^{SPACE}\\x00-\\x1f\\x7f-\\x9f/?#@:\\[\\]]"
_USERINFO = f"[^{SPACE}\\x00-\\x1f\\x7f-\\x9f/?#\\[\\]]"
_PORT = "(?:[0-9]{0,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# an http(s) URL with a host (fields._is_web_url; IPv6 literals left out)
WEB_URL = rf"{any_case('http')}[sS]?://(?:{_USERINFO}*@)?{_HOST}+(?::{_PORT})?(?:[/?#]{_VISIBLE}*)?"
_DOI = rf"(?:{any_case('doi:')}|{any_case('https://doi.org/')})?10\.[0-9]{{4,9}}/{_VISIBLE}+"
_CURIE = rf"[A-Za-z][A-Za-z0-9._-]{{0,39}}:{_VISIBLE}+"
# prefixes a compact identifier may not have: unsafe ones, and those of schemes of their own
_NOT_CURIE = "|".join(any_case(p) for p in ("javascript", "data", "vbscript", "file", "doi", "https", "http"))
CROSS_REFERENCE_VALUE: JSON = {
    "type": "string",
    "minLength": 1,
    "maxLength": 1024,
    "description": "a DOI (`10.1000/xyz`, optionally after `doi:` or `https://doi.org/`), an http(s) URL "
    "with a host, or a compact identifier (`ENA:PRJEB1234`); no blanks",
    "anyOf": [
        {"pattern": f"^{_DOI}$"},
        {"pattern": f"^{WEB_URL}$"},
        {"pattern": f"^{_CURIE}$", "not": {"anyOf": [{"pattern": f"^(?:{_NOT_CURIE}):"}, {"pattern": "^[^:]*://"}]}},
    ],
    "examples": ["doi:10.17044/scilifelab.14727426"],
}
# a title: blanks around it are dropped, what is left is 1 to 256 characters
TITLE: JSON = {
    "type": "string",
    "pattern": stripped(MAX_TITLE),
    "description": f"1 to {MAX_TITLE} characters once the blanks around them are dropped",
}
_TAGS: JSON = {
    "type": "object",
    "description": f"key → value (at most {MAX_TAG_ENTRIES}; keys 1-80 characters, no blanks around them; "
    "values at most 256)",
    "maxProperties": MAX_TAG_ENTRIES,
    "propertyNames": {"minLength": 1, "maxLength": 80, "pattern": f"^{NOT_BLANK}(?:[\\s\\S]*{NOT_BLANK})?$"},
    "additionalProperties": {"type": "string", "maxLength": 256},
}
_USERS: JSON = {"type": "array", "maxItems": MAX_LIST_USERS, "items": UUID_FORM, "description": "user ids (`_id`)"}
_DESCRIBED: JSON = {
    "title": TITLE,
    "description": {"type": "string", "description": "Markdown", "maxLength": MAX_DESCRIPTION},
    "tags_standard": _TAGS,
    "tags_user": _TAGS,
}
_XREFS: JSON = {
    "type": "array",
    "maxItems": MAX_CROSS_REFERENCES,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["title", "value"],
        "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 256}, "value": CROSS_REFERENCE_VALUE},
    },
}
_ORDER: JSON = {
    **_DESCRIBED,
    "authors": _USERS,
    "generators": _USERS,
    "organisation": {"anyOf": [{"const": ""}, UUID_FORM], "description": 'a user id, or `""`'},
    "editors": _USERS,
    "annotation_schema": {
        "type": "string",
        "pattern": f"^(?:|{NAME_PATTERN}(?:/[1-9][0-9]{{0,8}})?)$",
        "description": 'a registered annotation schema: `name`, `name/version`, or `""` (none)',
    },
}
_DATASET: JSON = {**_DESCRIBED, "cross_references": _XREFS, "published": {"type": "boolean"}}
_COLLECTION: JSON = {
    **_DESCRIBED,
    "cross_references": _XREFS,
    "editors": _USERS,
    "datasets": {
        "type": "array",
        "maxItems": MAX_COLLECTION_DATASETS,
        "items": UUID_FORM,
        "description": "dataset ids",
    },
    "published": {"type": "boolean"},
}
_EMAIL_PART = f"[^@{SPACE}\\x00-\\x1f\\x7f-\\x9f]"
_ORCID = r"^(?:|[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{3}[0-9Xx])$"
_USER: JSON = {
    "name": {"type": "string", "maxLength": 256},
    "email": {
        "type": "string",
        "maxLength": 256,
        "pattern": f"^{_EMAIL_PART}+@{_EMAIL_PART}+\\.{_EMAIL_PART}+$",
        "examples": ["alice@example.org"],
    },
    "contact": {"type": "string", "maxLength": 512, "description": "a public contact"},
    "email_public": {"type": "string", "maxLength": 512, "description": "`contact` (the seed's name for it)"},
    "affiliation": {"type": "string", "maxLength": 256},
    "orcid": {"type": "string", "pattern": _ORCID, "description": 'an ORCID iD (its check digit right), or `""`'},
    "url": {"type": "string", "maxLength": 2048, "pattern": f"^(?:|{WEB_URL})$", "description": 'or `""`'},
    "permissions": {"type": "array", "maxItems": MAX_TOPICS, "items": {"enum": sorted(TOPICS)}},
}
_OWN_USER = {k: v for k, v in _USER.items() if k not in ("email", "permissions")}


def fields(properties: JSON, note: str, required: str | None = None, at_least_one: tuple[str, ...] = ()) -> JSON:
    """An entity's fields: exactly these keys (``required`` among them on create)."""
    out: JSON = {"type": "object", "description": note, "additionalProperties": False, "properties": properties}
    if required:
        out["required"] = [required]
    if "contact" in properties and "email_public" in properties:
        out["not"] = {"required": ["contact", "email_public"]}  # one name or the other
    for name in at_least_one:  # a change keeps at least one
        out["properties"] = {**out["properties"], name: {**properties[name], "minItems": 1}}
    return out


def body(kind: str, fields_name: str) -> JSON:
    """The fields flat, or wrapped as ``{kind: {...}}`` (that key alone)."""
    return {
        "type": "object",
        "description": f'The fields, flat or wrapped (`{{"{kind}": {{...}}}}`, that key alone).',
        "anyOf": [
            {"required": [kind], "maxProperties": 1, "properties": {kind: _ref(fields_name)}},
            _ref(fields_name),
        ],
    }


def versioned(kind: str, properties: JSON, note: str, at_least_one: tuple[str, ...] = ()) -> JSON:
    """A PATCH of the catalogue's ``/projects`` and ``/collections``: the changes, flat or
    wrapped, and optionally the ``version`` they are based on (409 when it moved on)."""
    version: JSON = {"type": ["integer", "null"], "minimum": 1}
    flat = fields({**properties, "version": version}, note, at_least_one=at_least_one)
    return {
        "type": "object",
        "description": f"{note} Optionally at `version` (409 when the record moved on).",
        "anyOf": [
            {
                "required": [kind],
                "maxProperties": 2,
                "additionalProperties": False,
                "properties": {kind: _ref(_EDITS[kind]), "version": version},
            },
            flat,
        ],
    }


_EDITS = {"order": "TrackerOrderChanges", "dataset": "TrackerDatasetChanges", "collection": "TrackerCollectionChanges"}
_NEW_DATASET = fields(
    {**_DATASET, "order": {**UUID_FORM, "description": "the order's `_id`"}},
    "A dataset's fields and its order's `_id`.",
)
_NEW_DATASET["required"] = ["order", "title"]

TRACKER_BODIES: dict[str, JSON] = {
    "TrackerOrderNew": fields(_ORDER, "A new order's fields (users by `_id`).", "title"),
    "TrackerOrderFields": body("order", "TrackerOrderNew"),
    "TrackerOrderChanges": fields(_ORDER, "What to change of an order.", at_least_one=("editors",)),
    "TrackerOrderPatch": body("order", "TrackerOrderChanges"),
    "TrackerDatasetNew": fields(_DATASET, "A new dataset's fields.", "title"),
    "TrackerDatasetFields": body("dataset", "TrackerDatasetNew"),
    "TrackerDatasetChanges": fields(_DATASET, "What to change of a dataset."),
    "TrackerDatasetPatch": body("dataset", "TrackerDatasetChanges"),
    "TrackerNewDatasetFields": _NEW_DATASET,
    "TrackerNewDataset": body("dataset", "TrackerNewDatasetFields"),
    "TrackerCollectionNew": fields(_COLLECTION, "A new collection's fields (datasets and editors by `_id`).", "title"),
    "TrackerCollectionFields": body("collection", "TrackerCollectionNew"),
    "TrackerCollectionChanges": fields(_COLLECTION, "What to change of a collection.", at_least_one=("editors",)),
    "TrackerCollectionPatch": body("collection", "TrackerCollectionChanges"),
    "TrackerUserNew": fields(_USER, "A new user's fields.", "email"),
    "TrackerUserFields": body("user", "TrackerUserNew"),
    "TrackerUserChanges": fields(_USER, "What to change of a user (`permissions`: USER_MANAGEMENT)."),
    "TrackerUserPatch": body("user", "TrackerUserChanges"),
    "TrackerOwnChanges": fields(_OWN_USER, "What to change of your own profile (not `email`, `permissions`)."),
    "TrackerOwnPatch": body("user", "TrackerOwnChanges"),
    # the catalogue's PATCH /users/me: the same fields, the name called display_name
    "ProfilePatch": fields(
        {("display_name" if k == "name" else k): v for k, v in _OWN_USER.items()}, "Your own profile."
    ),
    "ProjectPatch": versioned("order", _ORDER, "What to change of a project.", ("editors",)),
    "ProjectDatasetPatch": versioned("dataset", _DATASET, "What to change of a dataset."),
    "CollectionPatch": versioned("collection", _COLLECTION, "What to change of a collection.", ("editors",)),
    "ApiKeyRequest": {
        "type": ["object", "null"],
        "description": "The new key's name (no body, `null` or none given: `default`).",
        "additionalProperties": False,
        "properties": {
            "name": {
                "type": "string",
                "pattern": stripped(80),
                "default": "default",
                "description": "1 to 80 printable characters once the blanks around them are dropped",
            }
        },
    },
    "TrackerKeyLogin": {
        "type": "object",
        "description": "The key to exchange (`api-key`, or `key`; or send it as `Authorization: ApiKey <key>`).",
        "additionalProperties": False,
        "oneOf": [{"required": ["api-key"]}, {"required": ["key"]}],
        "properties": {
            "api-key": {"type": "string", "minLength": 1, "maxLength": 200},
            "key": {"type": "string", "minLength": 1, "maxLength": 200},
            "api-user": {"description": "ignored"},
        },
    },
}
