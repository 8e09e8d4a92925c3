"""The component schemas of European XFEL's myMdC API (``/mymdc/api``), read off the facility
domain's declared kinds (:mod:`chalicelib.facility.schema`) so that they cannot drift apart.

Per collection kind (``instrument`` → ``MymdcInstrument``): the record as myMdC answers it
(``id``, every declared field, what the service derives and stores, what the view adds),
a list of them (``MymdcInstrumentList``, myMdC's plain JSON array) and the body a create or
update takes (``MymdcInstrumentBody``: the fields wrapped in the model's name or flat, each
as loosely typed as Rails coerces it). Then the composite reads: ``/me``, a proposal's runs,
a run's RAW data group ids.

A record has every declared field (blank ones ``null``, or ``""`` for text myMdC never
leaves null); only ``id`` and the fields a record cannot be without are ``required``.
"""

from __future__ import annotations

from chalicelib.facility.schema import BOOL, DATETIME, INT, KINDS, Field, Kind
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
# what a client may send for a field of each type (metadata_client sends "-1", "true", "")
_LOOSE = {
    INT: ["integer", "string", "null"],
    BOOL: ["boolean", "integer", "string", "null"],
    DATETIME: ["string", "null"],
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


def _sent(f: Field) -> JSON:
    out: JSON = {"type": _LOOSE.get(f.type, ["string", "number", "null"])}
    notes = []
    if f.required:
        notes.append("required on create")
    if f.immutable:
        notes.append("cannot be updated")
    if f.choices is not None:
        notes.append("one of " + ", ".join(map(str, f.choices)))
    if notes:
        out["description"] = "; ".join(notes)
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


def body_schema(kind: Kind) -> JSON:
    fields: JSON = {
        "type": "object",
        "description": "unknown keys are ignored; ids, numbers and flags may be strings, as Rails coerces them",
        "properties": {f.name: _sent(f) for f in kind.fields},
    }
    return {
        "type": "object",
        "description": f'The {kind.name.replace("_", " ")}\'s fields, wrapped (`{{"{kind.name}": {{...}}}}`) or flat.',
        "properties": {kind.name: fields, **fields["properties"]},
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
        out[f"{name}Body"] = body_schema(kind)
    return out


_NAMED_ID: JSON = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": _NULLABLE_INT, "name": _NULLABLE_STR},
}

MYMDC_SCHEMAS: dict[str, JSON] = {
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
