"""Site-defined annotation schemas: JSON Schemas (Draft 2020-12) an admin registers, which a
dataset or a project declares and which its datasets' annotations must then conform to.

**Registering.** An admin registers a schema under a name (``^[a-z][a-z0-9_-]{0,63}$``); each
registration of a name makes its next version (1, 2, ...), and a version never changes once
registered. A schema is refused (:class:`~chalicelib.errors.InvalidDocument`, every problem at
once, paths into the request body) when it is not a JSON object that is a valid Draft 2020-12
schema, when it is larger than :data:`MAX_SCHEMA_BYTES` serialized, or when a ``$ref`` (or
``$dynamicRef``) does not resolve inside the schema itself: only ``#``, ``#/json/pointer`` and
``#anchor`` references to places that exist are accepted, so nothing is ever fetched.

**Storing.** Schemas live in the facility record store (so the facility table's stream writes
their audit log, :mod:`chalicelib.facility.audit`): one record of kind :data:`KIND` per (name,
version), and one *head* record of kind :data:`HEAD_KIND` per name holding its latest version
and description (the list reads the heads only). Both ids are derived from the name (and
version), so a lookup is one consistent read and two registrations never share a version: the
version record is created first (``AlreadyExists``: someone took that version, the next one is
tried), then the head is advanced, never moved back.

**Declaring.** A dataset declares a schema by its annotation :data:`DECLARATION`, whose value
is ``"name"`` (the latest version when checked) or ``"name/N"`` (that version); a project (a
Data Tracker order, :mod:`chalicelib.tracker.orders`) by its field of the same name. The
declaration annotation itself is not part of the document a schema checks.

**Checking.** :meth:`AnnotationSchemas.check` raises InvalidDocument listing every problem,
each with the JSON pointer of the annotation (``/annotations/...``) and the schema broken.
Nothing declared costs nothing: no read. Otherwise a version, immutable, is read once per
container and kept; the latest version of a name and a project's declaration are read again
at most every :data:`LATEST_TTL_SECONDS` (what this container changes itself it knows at once).

Authorization is :func:`may_register_schemas` (admins) and :func:`may_read_schemas` (any
signed-in user). Framework-free.
"""

from __future__ import annotations

import json
import re
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from chalicelib.adapters.dynamodb.facility import FacilityRecord, FacilityStore, uuid_record_id
from chalicelib.catalogue.validation import reject_unknown, require_object
from chalicelib.domain import ANONYMOUS, JSONObject, User
from chalicelib.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidDocument,
    NotFound,
    ValidationError,
    VersionConflict,
)
from chalicelib.identity import permissions as perm
from chalicelib.identity.permissions import Gate
from chalicelib.json_documents import MAX_PROBLEMS, document_problems, schema_problems

KIND = "annotation_schema"  # one record per (name, version)
HEAD_KIND = "annotation_schema_name"  # one record per name: its latest version
DECLARATION = "annotation_schema"  # the annotation (and the order field) declaring a schema
NAME_PATTERN = r"[a-z][a-z0-9_-]{0,63}"
NAME_RE = re.compile(NAME_PATTERN)
DECLARATION_RE = re.compile(rf"(?P<name>{NAME_PATTERN})(?:/(?P<version>[1-9][0-9]{{0,8}}))?")
MAX_SCHEMA_BYTES = 64 * 1024
MAX_DESCRIPTION_CHARS = 4096
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
LATEST_TTL_SECONDS = 5.0
MAX_CACHED = 1024  # entries per cache; a full cache starts again empty
MAX_REGISTER_ATTEMPTS = 20
_NAMESPACE = uuidlib.UUID("0b6f3c9e-5a52-4f0e-9d0b-2f6a3e1c7d41")  # of the records' uuids


# -- authorization: pure predicates ---------------------------------------------------------
def may_register_schemas(user: User) -> bool:
    """Registering a schema (a new name, or a new version of one): admins."""
    return perm.is_admin(user)


def may_read_schemas(user: User) -> bool:
    """Listing and reading schemas: any signed-in user (not the anonymous caller, not a
    removed user)."""
    return user.username != ANONYMOUS and not user.deleted


REGISTRARS = Gate(may_register_schemas, "registering annotation schemas is for admins")


# -- values ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnnotationSchema:
    """One registered version of a schema (never changed once stored)."""

    name: str
    version: int
    description: str
    schema: Mapping[str, Any]
    registered_at: float
    registered_by: str

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    def to_dict(self) -> JSONObject:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "schema": self.schema,
            "registered_at": self.registered_at,
            "registered_by": self.registered_by,
        }


@dataclass(frozen=True)
class Declaration:
    """``name`` or ``name/version``: ``version`` None means the latest one when checked."""

    name: str
    version: int | None = None


def parse_declaration(value: object) -> Declaration | None:
    """The declaration ``value`` spells, or None when it is not a string of that form."""
    if not isinstance(value, str):
        return None
    m = DECLARATION_RE.fullmatch(value)
    if m is None:
        return None
    return Declaration(m["name"], int(m["version"]) if m["version"] else None)


def parse_name(value: object, field: str = "name") -> str:
    """A schema name, or ValidationError naming ``field``."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise ValidationError(f"{field} must match ^{NAME_PATTERN}$", field=field)
    return value


def parse_version(value: str) -> int | None:
    """A version path segment (``1``, ``2``, ...) as an int; None when it is not one."""
    return int(value) if re.fullmatch(r"[1-9][0-9]{0,8}", value) else None


@dataclass(frozen=True)
class NewSchema:
    name: str
    description: str
    schema: Any


def parse_new_schema(body: object) -> NewSchema:
    """``{"name", "description"?, "schema"}`` (the schema is checked by the service)."""
    data = require_object(body)
    reject_unknown(data, {"name", "description", "schema"})
    name = parse_name(data.get("name"))
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS:
        raise ValidationError(
            f"description must be a string of at most {MAX_DESCRIPTION_CHARS} characters", "description"
        )
    if "schema" not in data:
        raise ValidationError("missing field: schema", field="schema")
    return NewSchema(name, description, data["schema"])


# -- what makes a schema acceptable -----------------------------------------------------------
# keywords whose value is a subschema, an object of subschemas, an array of subschemas
_ONE = frozenset(
    {
        "additionalProperties", "items", "contains", "propertyNames", "not", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema",
    }
)  # fmt: skip
_MAP = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})


def acceptance_problems(schema: Any) -> list[dict[str, str]]:
    """Every reason ``schema`` may not be registered (``[]``: none); paths are JSON pointers
    into the schema. Size first (nothing large is parsed further), then JSON Schema's own
    rules, then the references."""
    if not isinstance(schema, Mapping):
        return [{"path": "", "message": "an annotation schema is a JSON object"}]
    try:
        size = len(json.dumps(schema, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())
    except (ValueError, TypeError, RecursionError):
        return [{"path": "", "message": "the schema is not JSON"}]
    if size > MAX_SCHEMA_BYTES:
        return [{"path": "", "message": f"the schema is {size} bytes serialized; at most {MAX_SCHEMA_BYTES}"}]
    problems = schema_problems(schema)
    if problems:
        return problems
    declared = schema.get("$schema")
    if declared is not None and str(declared).rstrip("#") != DRAFT_2020_12:
        problems.append({"path": "/$schema", "message": f"annotation schemas are Draft 2020-12 ({DRAFT_2020_12})"})
    return problems + reference_problems(schema)


def _subschemas(root: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """Every schema object in ``root`` (itself first) with its path, following the keywords
    that hold subschemas only (so a ``const`` or ``default`` value is never taken for one)."""
    stack: list[tuple[tuple[str, ...], Any]] = [((), root)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, Mapping):
            continue  # a boolean schema
        yield path, node
        for key, value in node.items():
            if key in _ONE:
                stack.append(((*path, key), value))
            elif key in _MAP and isinstance(value, Mapping):
                stack.extend(((*path, key, str(k)), v) for k, v in value.items())
            elif key in _LIST and isinstance(value, list):
                stack.extend(((*path, key, str(i)), v) for i, v in enumerate(value))


def _pointer(parts: Sequence[str]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _resolves(root: Any, fragment: str) -> bool:
    """Whether the JSON pointer ``fragment`` (``/a/b``, URI-decoded) names a value in ``root``."""
    node = root
    for escaped in fragment.split("/")[1:]:
        token = escaped.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def reference_problems(schema: Mapping[str, Any]) -> list[dict[str, str]]:
    """The ``$ref`` / ``$dynamicRef`` s of ``schema`` that do not resolve inside it, and the
    ``$id`` s below its root (an embedded resource would change what a reference means)."""
    found = list(_subschemas(schema))
    anchors = {
        str(node[key]) for _, node in found for key in ("$anchor", "$dynamicAnchor") if isinstance(node.get(key), str)
    }
    problems: list[dict[str, str]] = []
    for path, node in found:
        if path and "$id" in node:
            problems.append({"path": _pointer([*path, "$id"]), "message": "$id is allowed at the root only"})
        for key in ("$ref", "$dynamicRef"):
            ref = node.get(key)
            if not isinstance(ref, str):
                continue
            where = _pointer([*path, key])
            if not ref.startswith("#"):
                message = f"{ref[:100]!r} is not inside the schema: remote references are never followed"
                problems.append({"path": where, "message": message})
                continue
            fragment = unquote(ref[1:])
            ok = fragment == "" or (_resolves(schema, fragment) if fragment.startswith("/") else fragment in anchors)
            if not ok:
                problems.append({"path": where, "message": f"{ref[:100]!r} does not resolve inside the schema"})
    return sorted(problems, key=lambda p: p["path"])


# -- record ids -----------------------------------------------------------------------------
def _uuid(key: str) -> str:
    return str(uuidlib.uuid5(_NAMESPACE, key))


def head_uuid(name: str) -> str:
    return _uuid(name)


def version_uuid(name: str, version: int) -> str:
    return _uuid(f"{name}/{version}")


def _schema_of(record: FacilityRecord) -> AnnotationSchema:
    f = record.fields
    return AnnotationSchema(
        name=str(f["name"]),
        version=int(f["version"]),
        description=str(f.get("description", "")),
        schema=dict(f["schema"]),
        registered_at=record.updated_at,
        registered_by=record.updated_by,
    )


# ProjectDeclaration: a project's id -> the declaration it makes (None: none)
ProjectDeclaration = Callable[[str], str | None]


class AnnotationSchemas:
    """The registered schemas and the check of annotations against them.

    ``project_declaration`` answers what a project (a dataset's ``project``) declares; without
    it no project declares anything. ``clock`` and ``ttl`` set how long the latest version of a
    name and a project's declaration are kept before they are read again.
    """

    def __init__(
        self,
        store: FacilityStore,
        *,
        project_declaration: ProjectDeclaration | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        ttl: float = LATEST_TTL_SECONDS,
    ) -> None:
        self._store = store
        self._project_declaration = project_declaration
        self._clock = clock
        self._wall_clock = wall_clock
        self._ttl = ttl
        self._versions: dict[tuple[str, int], AnnotationSchema] = {}  # immutable: kept for good
        self._latest: dict[str, tuple[float, int | None]] = {}  # name -> (read at, latest)
        self._projects: dict[str, tuple[float, str | None]] = {}  # project -> (read at, declaration)

    # -- registering and reading ----------------------------------------------------------
    def register(self, user: User, name: str, description: str, schema: Any) -> AnnotationSchema:
        """Register ``schema`` as the next version of ``name`` (1 for a new name) and return it.

        Forbidden unless :func:`may_register_schemas`; ValidationError for a bad name or
        description; InvalidDocument listing every problem of the schema (paths ``/schema/...``)
        when :func:`acceptance_problems` finds any. Nothing is stored then."""
        if not may_register_schemas(user):
            raise Forbidden(REGISTRARS.refusal)
        parse_name(name)
        if len(description) > MAX_DESCRIPTION_CHARS:
            raise ValidationError(f"description is longer than {MAX_DESCRIPTION_CHARS} characters", "description")
        problems = acceptance_problems(schema)
        if problems:
            count = len(problems)
            raise InvalidDocument(
                f"the schema cannot be registered ({count} problem{'s' if count > 1 else ''})",
                [{"path": "/schema" + p["path"], "message": p["message"]} for p in problems],
            )
        head = self._head(name)
        version = int(head.fields["latest"]) if head is not None else 0
        for _ in range(MAX_REGISTER_ATTEMPTS):
            version += 1
            uuid = version_uuid(name, version)
            record = FacilityRecord(
                kind=KIND,
                id=uuid_record_id(uuid),
                uuid=uuid,
                version=1,
                fields={"name": name, "version": version, "description": description, "schema": dict(schema)},
                updated_at=self._wall_clock(),
                updated_by=user.username,
                acting_for=user.acting_for,
            )
            try:
                self._store.create(record)
                break
            except AlreadyExists:
                continue  # another registration took this version
        else:
            raise VersionConflict(f"the schema {name} is changing too fast; try again")
        self._advance(user, name, version, description)
        registered = _schema_of(record)
        self._versions[(name, version)] = registered
        self._latest[name] = (self._clock(), version)
        return registered

    def _advance(self, user: User, name: str, version: int, description: str) -> None:
        """Make the head of ``name`` say ``version`` unless it says a later one already."""
        uuid = head_uuid(name)
        fields = {"name": name, "latest": version, "description": description}
        for _ in range(MAX_REGISTER_ATTEMPTS):
            head = self._head(name)
            try:
                if head is None:
                    self._store.create(
                        FacilityRecord(
                            kind=HEAD_KIND,
                            id=uuid_record_id(uuid),
                            uuid=uuid,
                            version=1,
                            fields=fields,
                            updated_at=self._wall_clock(),
                            updated_by=user.username,
                            acting_for=user.acting_for,
                        )
                    )
                elif int(head.fields["latest"]) < version:
                    updated = FacilityRecord(
                        kind=HEAD_KIND,
                        id=head.id,
                        uuid=head.uuid,
                        version=head.version + 1,
                        fields=fields,
                        updated_at=self._wall_clock(),
                        updated_by=user.username,
                        acting_for=user.acting_for,
                    )
                    self._store.save(updated, head.version)
                return
            except (AlreadyExists, VersionConflict):
                continue  # another registration of the name came between: read again
        raise VersionConflict(f"the schema {name} is changing too fast; try again")

    def _head(self, name: str) -> FacilityRecord | None:
        uuid = head_uuid(name)
        head = self._store.get(HEAD_KIND, uuid_record_id(uuid))
        if head is not None and head.fields.get("name") != name:
            raise Conflict(f"the schema name {name} collides with {head.fields.get('name')}")  # ~2^-120
        return head

    def get(self, user: User, name: str, version: int | None = None) -> AnnotationSchema:
        """Version ``version`` of ``name`` (None: its latest), for whoever :func:`may_read_schemas`;
        NotFound when there is no such schema (a malformed name included)."""
        if not may_read_schemas(user):
            raise Forbidden("annotation schemas are read by signed-in users")
        found = self._find(name, version, fresh=True) if NAME_RE.fullmatch(name) else None
        if found is None:
            raise NotFound(f"no annotation schema {name[:64]}" + (f"/{version}" if version else ""))
        return found

    def list(self, user: User) -> list[JSONObject]:
        """Every schema name with its latest version and that version's description, by name."""
        if not may_read_schemas(user):
            raise Forbidden("annotation schemas are read by signed-in users")
        heads = sorted(self._store.all(HEAD_KIND), key=lambda h: str(h.fields.get("name")))
        return [
            {"name": h.fields["name"], "latest_version": h.fields["latest"], "description": h.fields["description"]}
            for h in heads
        ]

    def _find(self, name: str, version: int | None, *, fresh: bool = False) -> AnnotationSchema | None:
        if version is None:
            version = self._latest_version(name, fresh=fresh)
            if version is None:
                return None
        cached = self._versions.get((name, version))
        if cached is not None:
            return cached
        record = self._store.get(KIND, uuid_record_id(version_uuid(name, version)))
        if record is None or record.fields.get("name") != name or record.fields.get("version") != version:
            return None  # not registered (not kept: it may be soon)
        if len(self._versions) >= MAX_CACHED:
            self._versions.clear()
        found = self._versions[(name, version)] = _schema_of(record)
        return found

    def _latest_version(self, name: str, *, fresh: bool = False) -> int | None:
        now = self._clock()
        kept = self._latest.get(name)
        if kept is not None and not fresh and now - kept[0] < self._ttl:
            return kept[1]
        head = self._head(name)
        latest = int(head.fields["latest"]) if head is not None else None
        if len(self._latest) >= MAX_CACHED:
            self._latest.clear()
        self._latest[name] = (now, latest)
        return latest

    def resolve(self, declaration: str, *, fresh: bool = False) -> AnnotationSchema | None:
        """The schema ``declaration`` names (``name`` or ``name/N``), or None."""
        parsed = parse_declaration(declaration)
        return None if parsed is None else self._find(parsed.name, parsed.version, fresh=fresh)

    # -- declarations of projects ---------------------------------------------------------
    def require_declarable(self, declaration: str, field: str = DECLARATION) -> None:
        """ValidationError (naming ``field``) unless ``declaration`` names a registered schema
        (``""`` declares none and is fine): what a project may declare."""
        if declaration == "":
            return
        if parse_declaration(declaration) is None:
            raise ValidationError(f"{field} must be a schema name or name/version", field=field)
        if self.resolve(declaration, fresh=True) is None:
            raise ValidationError(f"{field}: no annotation schema {declaration[:80]} is registered", field=field)

    def forget_project(self, project: str) -> None:
        """The declaration of ``project`` changed: read it again on its next check."""
        self._projects.pop(project, None)

    def _declared_by(self, project: str) -> str | None:
        if self._project_declaration is None:
            return None
        now = self._clock()
        kept = self._projects.get(project)
        if kept is not None and now - kept[0] < self._ttl:
            return kept[1]
        declared = self._project_declaration(project) or None
        if len(self._projects) >= MAX_CACHED:
            self._projects.clear()
        self._projects[project] = (now, declared)
        return declared

    # -- checking annotations -------------------------------------------------------------
    def check_entry(self, annotations: Mapping[str, Any], project: str | None) -> None:
        """:meth:`check` of a dataset's ``annotations``, with the declaration of its
        ``project`` (if any) beside the annotations' own."""
        declared = self._declared_by(project) if project is not None else None
        self.check(annotations, () if declared is None else (declared,))

    def check(self, annotations: Mapping[str, Any], declared: Sequence[str] = ()) -> None:
        """Raise InvalidDocument listing every problem of ``annotations`` against the schemas
        declared: those of ``declared`` (a project's) and the one the annotation
        :data:`DECLARATION` names, if present. A declaration that is malformed or names no
        registered schema is itself a problem. Paths are ``/annotations/<annotation>...``;
        each message names the schema broken. Nothing declared: returns at once, no read."""
        own = annotations.get(DECLARATION)
        if own is None and DECLARATION not in annotations and not declared:
            return
        problems: list[dict[str, str]] = []
        schemas: dict[str, AnnotationSchema] = {}
        for d in declared:
            found = self.resolve(d)
            if found is None:
                problems.append(
                    {"path": "", "message": f"the project's annotation schema {d[:80]!r} is not registered"}
                )
            else:
                schemas.setdefault(found.ref, found)
        if DECLARATION in annotations:
            where = f"/annotations/{DECLARATION}"
            if parse_declaration(own) is None:
                message = 'must name an annotation schema: "name" or "name/version"'
                problems.append({"path": where, "message": message})
            elif (found := self.resolve(str(own))) is None:
                problems.append({"path": where, "message": f"no annotation schema {str(own)[:80]} is registered"})
            else:
                schemas.setdefault(found.ref, found)
        document = {k: v for k, v in annotations.items() if k != DECLARATION}
        for schema in schemas.values():
            for p in document_problems(schema.schema, document):
                message = f"{p['message']} (annotation schema {schema.ref})"
                problems.append({"path": "/annotations" + p["path"], "message": message})
        if problems:
            count = len(problems)
            raise InvalidDocument(
                f"the annotations break their annotation schema ({count} problem{'s' if count > 1 else ''})",
                problems[:MAX_PROBLEMS],
            )
