"""The component schemas of European XFEL's myMdC API (``/mymdc/api``), read off the facility
domain's declared kinds (:mod:`chalicelib.facility.schema`) so that they cannot drift apart.

Per collection kind (``instrument`` → ``MymdcInstrument``): the record as myMdC answers it
(``id``, every declared field, what the service derives and stores, what the view adds),
a list of them (``MymdcInstrumentList``, myMdC's plain JSON array), the body a create takes
(``MymdcInstrumentBody``: its fields ``MymdcInstrumentFields``, the required ones filled) and
the body an update takes (``MymdcInstrumentChanges``: ``MymdcInstrumentEdit``, any of them),
each wrapped in the model's name or flat, each field as loosely typed as Rails coerces it
(:mod:`chalicelib.facility.rules`: ids and numbers as text, flags as words, blank as
``null`` or a blank string). Then the composite reads: ``/me``, a proposal's runs, a run's
RAW data group ids.

What no schema states, and myMdC refuses with a 422 naming the field: a parent record that
does not exist (``{"proposal": ["must exist"]}``), a value another record has (``has already
been taken``), an immutable field changed (``cannot be updated``), a run whose ``last_train``
is before its ``first_train``.

A record has every declared field (blank ones ``null``, or ``""`` for text myMdC never
leaves null); only ``id`` and the fields a record cannot be without are ``required``.
"""

from __future__ import annotations

import json

from chalicelib.facility.rules import MAX_TEXT
from chalicelib.facility.schema import BOOL, DATETIME, INT, KINDS, Field, Kind
from chalicelib.openapi.compat_text import BLANK, NOT_BLANK
from chalicelib.openapi.request_schemas import BASE_URI
from chalicelib.openapi.shapes import INT as _INT
from chalicelib.openapi.shapes import JSON
from chalicelib.openapi.shapes import STR as _STR
from chalicelib.openapi.shapes import ref as _ref

_NULLABLE_STR: JSON = {"type": ["string", "null"]}
_NULLABLE_INT: JSON = {"type": ["integer", "null"]}


# the kinds with myMdC collections (the run links are written through their run's attributes)
COLLECTION_KINDS: tuple[Kind, ...] = tuple(
    k for k in KINDS.values() if k.name not in ("runs_technique", "runs_data_group")
)

# what the service stores beside a kind's declared fields, and what the view adds
_DERIVED: dict[str, JSON] = {
    "repository": {"base_uri": {"type": "string", "description": "the catalogue base URI of the repository"}},
    "proposal": {
        "instrument_identifier": _STR,
        "proposal_folder": {"type": "string", "examples": ["p002214"]},
        "def_proposal_path": {"type": "string", "examples": ["/gpfs/exfel/exp/SPB/202201/p002214/raw"]},
    },
    "experiment": {
        "experiment_number": _INT,
        "doi": {"type": "string", "examples": ["xfel.mdc.exp.7"]},
        "experiment_folder": {"type": "string", "examples": ["e0001"]},
    },
    "run": {
        "proposal_id": _INT,
        "run_folder": {"type": "string", "examples": ["r0042"]},
        "techniques": {
            "type": "array",
            "description": "the run's techniques, each with the id of its link (`runs_techniques_id`)",
            "items": {
                "allOf": [_ref("MymdcTechnique")],
                "required": ["runs_techniques_id"],
                "properties": {"runs_techniques_id": _INT},
            },
        },
    },
    "data_group": {"proposal_id": _INT, "doi": {"type": "string", "examples": ["xfel.mdc.dg.12"]}},
    "data_file": {"proposal_id": _INT},
    "data_group_repository": {"proposal_id": _INT},
}
# the derived fields every answer of the kind has
_ALWAYS: dict[str, tuple[str, ...]] = {
    "proposal": ("instrument_identifier", "proposal_folder", "def_proposal_path"),
    "experiment": ("doi", "experiment_folder"),
    "run": ("run_folder", "techniques"),
    "data_group": ("doi",),
}
_TYPES = {INT: "integer", BOOL: "boolean", DATETIME: "string"}
MAX_INT = 2**63 - 1


def _at_most(bound: str) -> str:
    """A regular expression of the decimal numerals (ASCII digits, leading zeros allowed) of
    as many digits as ``bound`` has, or fewer, whose value is at most ``bound``."""
    shorter = f"[0-9]{{1,{len(bound) - 1}}}"
    same = [f"{bound[:i]}[0-{int(d) - 1}][0-9]{{{len(bound) - i - 1}}}" for i, d in enumerate(bound) if d != "0"]
    return "|".join([shorter, *same, bound])


# a whole number as rules.coerce reads text: optional blanks, at most 19 digits in range, ".0…"
_INT_TEXT = rf"^{BLANK}*(?:{_at_most(str(MAX_INT))}|-(?:{_at_most(str(MAX_INT + 1))}))(?:\.0*)?{BLANK}*$"
_WORDS_TRUE = ("true", "1", "t", "yes", "on")
_WORDS_FALSE = ("false", "0", "f", "no", "off")


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in word)


_FLAG_TEXT = rf"^{BLANK}*(?:{'|'.join(_any_case(w) for w in (*_WORDS_TRUE, *_WORDS_FALSE))}){BLANK}*$"
_BLANK: JSON = _ref("MymdcBlank")
_NULL: JSON = {"type": "null"}
# a string that is not blank (rules: a required field's value)
_FILLED = NOT_BLANK

# the shared shapes of what a client sends (component schemas, referenced by every body)
VALUE_SCHEMAS: dict[str, JSON] = {
    "MymdcInteger": {
        "description": 'A whole number (-2^63 to 2^63-1), as a JSON number or as text (`"-1"`, `" 42 "`, '
        '`"7.0"`), as Rails coerces it (metadata_client sends both).',
        "anyOf": [
            {"type": "integer", "minimum": -MAX_INT - 1, "maximum": MAX_INT},
            {"type": "string", "pattern": _INT_TEXT},
        ],
    },
    "MymdcFlag": {
        "description": "A flag: `true`/`false`, `1`/`0`, or the text `true`, `1`, `t`, `yes`, `on` (or `false`, "
        "`0`, `f`, `no`, `off`), in any case.",
        "anyOf": [{"type": "boolean"}, {"type": "integer", "enum": [0, 1]}, {"type": "string", "pattern": _FLAG_TEXT}],
    },
    "MymdcBlank": {
        "type": "string",
        "pattern": f"^{BLANK}*$",
        "description": 'Blank text (`""`, only blanks): no value (a create\'s default).',
    },
    "MymdcDateTime": {
        "type": "string",
        "format": "date-time",
        "maxLength": 64,
        "description": "ISO 8601 (`2014-06-25T08:30:00.000+02:00`; no zone: UTC); answered with milliseconds",
    },
}


def _choice_text(choices: tuple[int, ...]) -> str:
    """The numerals (as :data:`_INT_TEXT` reads them) of the small whole numbers ``choices``."""
    numerals = []
    for c in sorted(choices):
        if c == 0:
            numerals.append("-?0{1,19}")
        elif c < 0:
            numerals.append(f"-0{{0,18}}{-c}")
        else:
            numerals.append(f"0{{0,18}}{c}")
    return rf"^{BLANK}*(?:{'|'.join(numerals)})(?:\.0*)?{BLANK}*$"


def _text(f: Field) -> JSON:
    """A text field's filled value: a string (not blank) or a number (taken as its decimal text)."""
    most = f.max_len or MAX_TEXT
    text: JSON = {"type": "string", "pattern": _FILLED, "maxLength": most}
    if f.min_len:
        text["minLength"] = f.min_len
        # a number's text is shorter than any minimum the kinds set
        return {**text, "description": "a number is taken as its decimal text (too short here)"}
    if most < 32:  # as many characters as a number's text may have: whole numbers that fit only
        digits = 10**most - 1
        return {"anyOf": [text, {"type": "integer", "minimum": -(10 ** (most - 1) - 1), "maximum": digits}]}
    return {"anyOf": [text, {"type": "number"}], "description": "a number is taken as its decimal text"}


_S3_MOUNT = "^s3://" + BASE_URI["pattern"].split("://", 1)[1].removesuffix("$") + "/*$"
# fields whose value says more than its type does
_SPECIAL: dict[tuple[str, str], JSON] = {
    ("repository", "mount_point"): {
        "description": "an `s3://` mount point is the repository's catalogue base URI (`s3://bucket[/prefix]`)",
        "anyOf": [
            {"type": "string", "pattern": _FILLED, "maxLength": MAX_TEXT, "not": {"pattern": "^s3://"}},
            {"type": "string", "pattern": _S3_MOUNT, "maxLength": 1024},
            {"type": "number"},
        ],
    }
}


def _filled(f: Field, kind: str) -> JSON:
    """What a field takes that is not blank."""
    if (kind, f.name) in _SPECIAL:
        return _SPECIAL[(kind, f.name)]
    if f.choices is not None:
        if f.type == INT:
            return {
                "anyOf": [
                    {"type": "integer", "enum": list(f.choices)},
                    {"type": "string", "pattern": _choice_text(f.choices)},
                ]
            }
        return {"enum": list(f.choices)}
    if f.type == INT:
        return _ref("MymdcInteger")
    if f.type == BOOL:
        return _ref("MymdcFlag")
    if f.type == DATETIME:
        return _ref("MymdcDateTime")
    return _text(f)


def _sent(f: Field, kind: str) -> JSON:
    """A field as a body gives it: a required field filled; any other also blank (`null`, or a
    blank string: its default on create, blank on update)."""
    value = _filled(f, kind)
    notes = []
    if f.required:
        notes.append("required on create, never blank")
    if f.immutable:
        notes.append("cannot be changed")
    if f.default is not None:
        notes.append(f"default {json.dumps(f.default)}")
    if f.max_len is not None:
        notes.append(f"at most {f.max_len} characters")
    if f.min_len is not None:
        notes.append(f"at least {f.min_len} characters")
    out: JSON = value if f.required else {"anyOf": [value, _NULL, _BLANK]}
    return {**out, "description": "; ".join(notes)} if notes else out


_NESTED_ITEM: dict[str, JSON] = {
    "runs_techniques_attributes": {
        "type": "object",
        "description": "`{technique_id}` links a technique; `{id, _destroy: 1}` removes the link `id`",
        "properties": {
            "technique_id": {"anyOf": [_ref("MymdcInteger"), _NULL, _BLANK]},
            "id": {"anyOf": [_ref("MymdcInteger"), _NULL, _BLANK]},
            "_destroy": {"description": "a flag"},
        },
    },
    "runs_data_groups_attributes": {
        "type": "object",
        "description": "`{run_id}` links a run of the proposal",
        "properties": {"run_id": {"anyOf": [_ref("MymdcInteger"), _NULL, _BLANK]}},
    },
}


def _nested(item: JSON) -> JSON:
    """Rails' nested attributes: a list of items, or an object of them (its values); blank: none."""
    return {
        "description": "Rails' nested attributes (at most 100); the records they name must exist",
        "anyOf": [
            _NULL,
            {"const": ""},
            {"type": "array", "maxItems": 100, "items": item},
            {"type": "object", "maxProperties": 100, "additionalProperties": item},
        ],
    }


# what a body holds beside the fields: nested links (run, data group), a chosen number (experiment)
_EXTRA: dict[str, JSON] = {
    "run": {"runs_techniques_attributes": _nested(_NESTED_ITEM["runs_techniques_attributes"])},
    "data_group": {"runs_data_groups_attributes": _nested(_NESTED_ITEM["runs_data_groups_attributes"])},
    "experiment": {
        "experiment_number": {"description": "on create: the experiment's number (a whole number; else the next)"}
    },
}


def schema_name(kind: Kind) -> str:
    """``data_group_type`` → ``MymdcDataGroupType``."""
    return "Mymdc" + "".join(part.capitalize() for part in kind.name.split("_"))


def _answered(f: Field) -> JSON:
    """A field as a record answers it: blank is ``null`` unless the field is required."""
    type_ = _TYPES.get(f.type, "string")
    out: JSON = {"type": type_ if f.required else [type_, "null"]}
    if f.type == DATETIME:
        out["description"] = "ISO 8601 (`2014-06-25T08:30:00.000+02:00`; UTC as `Z`)"
    if f.choices is not None:
        out["enum"] = [*f.choices] if f.required else [*f.choices, None]
    return out


def record_schema(kind: Kind) -> JSON:
    properties: JSON = {"id": _INT}
    properties |= {f.name: _answered(f) for f in kind.fields}
    properties |= {"created_at": _NULLABLE_STR, "created_by": _NULLABLE_STR}
    properties |= _DERIVED.get(kind.name, {})
    if kind.name == "data_group_repository":
        properties["flg_available"] = {
            "type": "boolean",
            "description": "whether the repository holds a live replica of the data group now",
        }
    required = ["id", *(f.name for f in kind.fields if f.required), *_ALWAYS.get(kind.name, ())]
    if kind.name == "data_group_repository":
        required.append("flg_available")
    return {
        "type": "object",
        "description": f"A {kind.name.replace('_', ' ')} as myMdC answers it.",
        "required": required,
        "properties": properties,
    }


def fields_schema(kind: Kind) -> JSON:
    """A kind's fields as an update takes them (any of them; unknown keys are ignored)."""
    return {
        "type": "object",
        "description": "unknown keys are ignored; ids, numbers and flags may be text, as Rails coerces them; "
        "on update only the fields given change",
        "properties": {**{f.name: _sent(f, kind.name) for f in kind.fields}, **_EXTRA.get(kind.name, {})},
    }


def new_fields_schema(kind: Kind, fields: str) -> JSON:
    """A kind's fields as a create takes them: those of an update (component ``fields``), the
    required ones given."""
    out: JSON = {"allOf": [_ref(fields)], "description": "a new record's fields: the required ones given"}
    required = [f.name for f in kind.fields if f.required]
    return {**out, "required": required} if required else out


def body_schema(kind: Kind, fields: str) -> JSON:
    """The fields (component ``fields``) wrapped in the model's name, or flat (Rails' params
    wrapper: metadata_client sends both); a wrapper that is an object is the fields."""
    return {
        "type": "object",
        "description": f'The {kind.name.replace("_", " ")}\'s fields, wrapped (`{{"{kind.name}": {{...}}}}`: '
        "nothing else is read) or flat.",
        "anyOf": [
            {"required": [kind.name], "properties": {kind.name: _ref(fields)}},
            {"allOf": [_ref(fields)], "properties": {kind.name: {"not": {"type": "object"}}}},
        ],
    }


def _kind_schemas() -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    for kind in COLLECTION_KINDS:
        name = schema_name(kind)
        out[name] = record_schema(kind)
        out[f"{name}List"] = {
            "type": "array",
            "description": "One page (`page`, `page_size` up to 500; `X-Total-Count`, `X-Total-Pages`).",
            "items": _ref(name),
        }
        out[f"{name}Edit"] = fields_schema(kind)
        out[f"{name}Fields"] = new_fields_schema(kind, f"{name}Edit")
        out[f"{name}Body"] = body_schema(kind, f"{name}Fields")
        out[f"{name}Changes"] = body_schema(kind, f"{name}Edit")
    return out


_NAMED_ID: JSON = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": _NULLABLE_INT, "name": _NULLABLE_STR},
}

MYMDC_SCHEMAS: dict[str, JSON] = {
    **VALUE_SCHEMAS,
    **_kind_schemas(),
    "MymdcMe": {
        "type": "object",
        "description": "The acting person: the signed-in user, or the `X-User-Email` a service principal acts for.",
        "required": ["email", "first_name", "last_name", "name", "nickname", "provider", "uid"],
        "properties": {
            "email": _STR,
            "first_name": _STR,
            "last_name": _STR,
            "name": _STR,
            "nickname": _STR,
            "provider": {"type": "string", "examples": ["catalogue"]},
            "uid": _STR,
        },
    },
    "MymdcProposalRuns": {
        "type": "object",
        "description": "A proposal's runs with their state, number of files and the repositories holding their data.",
        "required": ["proposal", "runs"],
        "properties": {
            "proposal": {
                "type": "object",
                "required": ["id", "number", "title"],
                "properties": {"id": _INT, "number": _INT, "title": _STR},
            },
            "runs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "run_number", "num_files", "experiment", "sample", "repositories"],
                    "properties": {
                        "id": _INT,
                        "run_number": _INT,
                        "run_alias": _NULLABLE_STR,
                        "begin_at": _NULLABLE_STR,
                        "end_at": _NULLABLE_STR,
                        "first_train": _NULLABLE_INT,
                        "last_train": _NULLABLE_INT,
                        "flg_status": _NULLABLE_INT,
                        "flg_run_quality": _NULLABLE_INT,
                        "size": _NULLABLE_INT,
                        "num_files": _INT,
                        "experiment": _NAMED_ID,
                        "sample": _NAMED_ID,
                        "repositories": {
                            "type": "object",
                            "description": "repository identifier → where the run's data groups are held",
                            "additionalProperties": {
                                "type": "object",
                                "required": ["name", "data_groups"],
                                "properties": {"name": _STR, "mount_point": _NULLABLE_STR, "data_groups": _INT},
                            },
                        },
                    },
                },
            },
        },
    },
    "MymdcIds": {"type": "array", "description": "record ids", "items": _INT, "examples": [[12, 13]]},
}
