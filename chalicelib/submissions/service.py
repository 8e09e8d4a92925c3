"""Metadata submissions: folders of ENA drafts and objects, checked against their schemas,
published into the catalogue (CSC metadata-submitter's workflow; issue 20).

Every call authenticates nothing (the HTTP boundary did) and authorizes first: a folder the
caller may not read is :class:`~chalicelib.errors.NotFound`, whatever else is wrong with the
request; then the input is validated, all of it before anything is stored.

An edit that names no version (metadata-submitter's, and ours without ``version``) is applied
as if concurrent edits had come one after the other: when another write overtook it, it is
authorized, validated and saved again on the record as it is then, a bounded number of times
(:func:`~chalicelib.retries.retry_lost_races`). An edit that names a version is a 409 as soon
as the version is not current.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.catalogue.paging import LogPage, read_log
from chalicelib.domain import SYSTEM_ACTOR, DatasetContent, JSONObject, User
from chalicelib.errors import AuthenticationError, Conflict, Forbidden, InvalidDocument, NotFound, ValidationError
from chalicelib.facility.audit import facility_subject
from chalicelib.retries import Sleep, retry_lost_races
from chalicelib.submissions import records as rec
from chalicelib.submissions.csv_samples import samples_from_csv
from chalicelib.submissions.ena_schemas import EnaSchemas
from chalicelib.submissions.publishing import alias_of, dataset_content, reference_problems, title_of
from chalicelib.submissions.records import PUBLISHED, PUBLISHING, SubmissionRecords, not_found
from chalicelib.submissions.types import TYPES, ObjectType

MAX_NAME = 256
MAX_DESCRIPTION = 4096
MAX_EDITORS = 50
MAX_OBJECTS_PER_REQUEST = 1000
FOLDER_FIELDS = ("name", "description", "projectId", "editors", "doiInfo")
# keys of an object's view that are the catalogue's, not the object's (dropped from bodies)
META_KEYS = frozenset(
    {"accessionId", "schema", "folderId", "draft", "dateCreated", "dateUpdated", "publishDate", "version"}
)
T = TypeVar("T")


def iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def object_type(name: str) -> ObjectType:
    type_ = TYPES.get(name.lower()) if isinstance(name, str) else None
    if type_ is None:
        raise NotFound(f"no schema {name[:64]!r}; the types are {', '.join(TYPES)}")
    return type_


def object_type_of(accession: str) -> ObjectType:
    """The type an accession id of ours names (NotFound for anything else)."""
    parsed = rec.parse_accession(accession)
    if parsed is None:
        raise not_found("object", accession)
    return parsed[0]


@dataclass(frozen=True)
class NewObject:
    """An object to store: its type, its stored form, how it came (XML, JSON, CSV)."""

    type: ObjectType
    content: Mapping[str, Any]
    source: str


class Submissions:
    def __init__(
        self,
        records: SubmissionRecords,
        schemas: EnaSchemas,
        publish_to_catalogue: Callable[[User, Sequence[DatasetContent], str, frozenset[str] | None], None],
        user_exists: Callable[[str], bool],
        audit: Repository,
        *,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._sleep = sleep  # the pause between the attempts of an edit that lost a race
        self._audit = audit  # where the stream-derived log of the records is read
        self._records = records
        self._schemas = schemas
        self._publish = publish_to_catalogue
        self._user_exists = user_exists

    @property
    def schemas(self) -> EnaSchemas:
        return self._schemas

    def _until_saved(self, attempt: Callable[[], T], what: str) -> T:
        """``attempt()`` of an edit sent without a version, again while other writes overtake it."""
        return retry_lost_races(attempt, sleep=self._sleep, gave_up=f"the {what} keeps changing; try again")

    # -- folders -----------------------------------------------------------------------------
    def _folder(self, user: User, folder_id: str) -> FacilityRecord:
        folder = self._records.find_folder(folder_id)
        if folder is None or not rec.may_read(user, folder):
            raise not_found("folder", folder_id)
        return folder

    def _changeable(self, user: User, folder_id: str) -> FacilityRecord:
        folder = self._folder(user, folder_id)
        if not rec.is_member(user, folder):
            raise Forbidden("only the folder's owner and editors change it")
        if not rec.may_change(user, folder):
            raise Conflict("the folder is published: it and its objects are read-only")
        return folder

    def require_writable(
        self, user: User, folder_id: str | None = None, obj: tuple[ObjectType, str, bool | None] | None = None
    ) -> None:
        """Authorize before a body is read: the folder (or the object: type, accession id,
        draft) exists for the caller (else NotFound) and the caller may change it."""
        if obj is not None:
            type_, accession, draft = obj
            folder_id = str(self._object(user, type_, accession, draft)[1].uuid)
        if folder_id is not None:
            self._changeable(user, folder_id)

    def create_folder(self, user: User, body: Mapping[str, Any]) -> JSONObject:
        if not rec.may_submit(user):
            raise AuthenticationError("sign in to submit")
        fields = self._folder_fields(user, body, creating=True)
        return self.folder_view(self._records.create_folder(user, fields))

    def folders(self, user: User, *, published: bool | None = None, name: str | None = None) -> list[JSONObject]:
        found = self._records.all_folders() if user.is_admin else self._records.folders_of(user.username)
        out = []
        for folder in found:
            if published is not None and (folder.fields.get("state") == PUBLISHED) != published:
                continue
            if name and name.lower() not in str(folder.fields.get("name", "")).lower():
                continue
            out.append(self.folder_view(folder, with_objects=False))
        return out

    def folder(self, user: User, folder_id: str) -> JSONObject:
        return self.folder_view(self._folder(user, folder_id))

    def update_folder(
        self, user: User, folder_id: str, changes: Mapping[str, Any], expected_version: int | None = None
    ) -> JSONObject:
        """Apply ``changes``; at ``expected_version`` when given (else VersionConflict, at once)."""

        def attempt() -> FacilityRecord:
            folder = self._changeable(user, folder_id)
            if "editors" in changes and not rec.may_manage(user, folder):
                raise Forbidden("only the folder's owner names its editors")
            self._records.require_version(folder, expected_version)
            fields = self._folder_fields(user, changes, creating=False)
            return self._records.save(user, folder, fields, "folder changed") if fields else folder

        if expected_version is not None:
            return self.folder_view(attempt())
        return self.folder_view(self._until_saved(attempt, f"folder {folder_id[:64]}"))

    def delete_folder(self, user: User, folder_id: str) -> None:
        folder = self._changeable(user, folder_id)
        if not rec.may_manage(user, folder):
            raise Forbidden("only the folder's owner deletes it")
        for _, obj in self._records.objects_in(folder.uuid):
            self._records.delete(user, obj, "deleted with its folder")
        self._records.delete(user, folder, "folder deleted")

    def _folder_fields(self, user: User, body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise ValidationError("the body is a JSON object", field="body")
        unknown = sorted(set(body) - set(FOLDER_FIELDS))
        if unknown:
            raise ValidationError(f"unknown field {unknown[0][:64]!r}; fields: {', '.join(FOLDER_FIELDS)}", unknown[0])
        fields: dict[str, Any] = {}
        if creating or "name" in body:
            name = body.get("name")
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
                raise ValidationError(f"name is a non-empty string of at most {MAX_NAME} characters", "name")
            fields["name"] = name.strip()
        if creating or "description" in body:
            description = body.get("description", "")
            if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
                raise ValidationError(f"description is a string of at most {MAX_DESCRIPTION} characters", "description")
            fields["description"] = description
        if "projectId" in body and body["projectId"] is not None:
            project = body["projectId"]
            if not isinstance(project, str) or not project.strip() or len(project) > MAX_NAME:
                raise ValidationError("projectId is a catalogue project's id", "projectId")
            if project not in user.projects and not user.is_admin:
                raise ValidationError("projectId must name a project you are a member of", "projectId")
            fields["project"] = project
        elif "projectId" in body or creating:
            fields["project"] = None
        if "editors" in body or creating:
            editors = body.get("editors", [])
            if (
                not isinstance(editors, list)
                or len(editors) > MAX_EDITORS
                or not all(isinstance(e, str) for e in editors)
            ):
                raise ValidationError(f"editors is a list of at most {MAX_EDITORS} usernames", "editors")
            missing = [e for e in editors if not self._user_exists(e)]
            if missing:
                raise ValidationError(f"no user {missing[0][:64]!r}", "editors")
            fields["editors"] = sorted(set(editors) - {user.username} if creating else set(editors))
        if "doiInfo" in body or creating:
            info = body.get("doiInfo", {})
            if not isinstance(info, Mapping) or len(str(info)) > 64 * 1024:
                raise ValidationError("doiInfo is an object (DataCite's creators, subjects...)", "doiInfo")
            fields["doiInfo"] = dict(info)
        return fields

    def folder_view(self, folder: FacilityRecord, *, with_objects: bool = True) -> JSONObject:
        f = folder.fields
        view: JSONObject = {
            "folderId": folder.uuid,
            "name": f.get("name", ""),
            "description": f.get("description", ""),
            "projectId": f.get("project"),
            "owner": f.get("owner"),
            "editors": list(f.get("editors", [])),
            "published": f.get("state") == PUBLISHED,
            "state": f.get("state"),
            "dateCreated": iso(f.get("created_at")),
            "datePublished": iso(f.get("published_at")),
            "doiInfo": f.get("doiInfo", {}),
            "version": folder.version,
        }
        if with_objects:
            drafts: list[JSONObject] = []
            objects: list[JSONObject] = []
            for type_, obj in self._records.objects_in(folder.uuid):
                entry = {
                    "accessionId": rec.accession_of(type_, obj.id),
                    "schema": type_.name,
                    "tags": {"submissionType": obj.fields.get("source", "JSON")},
                    "title": obj.fields.get("title", ""),
                }
                (drafts if obj.fields.get("draft") else objects).append(entry)
            view["drafts"] = drafts
            view["metadataObjects"] = objects
        return view

    # -- objects -----------------------------------------------------------------------------
    def parse_xml(self, data: bytes, expected: ObjectType | None = None) -> list[NewObject]:
        type_, objects = self._schemas.objects_from_xml(data, expected)
        return [NewObject(type_, o, "XML") for o in objects]

    def parse_json(self, type_: ObjectType, body: Any) -> list[NewObject]:
        """One object (a JSON object) or several (a list of them); every problem at once,
        pointers prefixed by the item's index for a list."""
        items = body if isinstance(body, list) else [body]
        if not items:
            raise ValidationError("no object given: send one object or a list of them", field="body")
        if len(items) > MAX_OBJECTS_PER_REQUEST:
            raise ValidationError(f"at most {MAX_OBJECTS_PER_REQUEST} objects per request", field="body")
        out: list[NewObject] = []
        problems: list[dict[str, str]] = []
        for index, item in enumerate(items):
            document = {k: v for k, v in item.items() if k not in META_KEYS} if isinstance(item, Mapping) else item
            try:
                out.append(NewObject(type_, self._schemas.object_from_json(type_, document), "JSON"))
            except InvalidDocument as exc:
                prefix = f"/{index}" if isinstance(body, list) else ""
                problems.extend({**p, "path": prefix + p["path"]} for p in exc.problems)
        if problems:
            raise InvalidDocument(f"the {type_.name} JSON is not valid ({len(problems)} problems)", problems)
        return out

    def samples_from_csv(self, text: str) -> list[NewObject]:
        """The samples of a CSV sheet; every row's problems at once (``row N: <pointer>``)."""
        sample = TYPES["sample"]
        out: list[NewObject] = []
        problems: list[dict[str, str]] = []
        for number, document in samples_from_csv(text):
            try:
                out.append(NewObject(sample, self._schemas.object_from_json(sample, document), "CSV"))
            except InvalidDocument as exc:
                problems.extend({**p, "path": f"row {number}: {p['path'] or '/'}"} for p in exc.problems)
        if problems:
            rows = len({p["path"].split(":")[0] for p in problems})
            raise InvalidDocument(f"{rows} row{'s' if rows > 1 else ''} of the CSV are not valid samples", problems)
        return out

    def add(self, user: User, folder_id: str, objects: Sequence[NewObject], *, draft: bool) -> list[JSONObject]:
        """Store ``objects`` (already valid) in the folder; their accession ids and types."""
        folder = self._changeable(user, folder_id)
        if len(objects) > MAX_OBJECTS_PER_REQUEST:
            raise ValidationError(f"at most {MAX_OBJECTS_PER_REQUEST} objects per request", field="body")
        self._check_aliases(folder, objects)
        created = []
        for new in objects:
            record_id = self._records.new_id(new.type)
            fields = self._object_fields(new) | {"draft": draft}
            self._records.create_object(user, new.type, folder.uuid, fields, record_id)
            created.append({"accessionId": rec.accession_of(new.type, record_id), "schema": new.type.name})
        return created

    def modify_by_alias(self, user: User, folder_id: str, new: NewObject) -> JSONObject:
        """ENA's MODIFY: replace the object of the folder with the same type and alias (or
        the ``@accession`` the new one names)."""
        alias, accession = alias_of(new.content), new.content.get("@accession")

        def attempt() -> JSONObject:
            folder = self._changeable(user, folder_id)
            for type_, obj in self._records.objects_in(folder.uuid, [new.type]):
                if (alias and obj.fields.get("alias") == alias) or accession == rec.accession_of(type_, obj.id):
                    self._records.save(user, obj, self._object_fields(new), "modified")
                    return {"accessionId": rec.accession_of(type_, obj.id), "schema": type_.name}
            raise NotFound(f"no {new.type.name} with alias {alias[:64]!r} in the folder to modify")

        return self._until_saved(attempt, f"{new.type.name} {alias[:64]!r}")

    def _check_aliases(
        self, folder: FacilityRecord, objects: Sequence[NewObject], replacing: FacilityRecord | None = None
    ) -> None:
        """An alias names one object of its type in a folder (references resolve by alias)."""
        taken = {
            (t.name, str(r.fields.get("alias"))): rec.accession_of(t, r.id)
            for t, r in self._records.objects_in(folder.uuid)
            if r.fields.get("alias") and (replacing is None or r.id != replacing.id or r.kind != replacing.kind)
        }
        problems = []
        for index, new in enumerate(objects):
            alias = alias_of(new.content)
            key = (new.type.name, alias)
            if alias and key in taken:
                problems.append({"path": f"/{index}/@alias", "message": f"alias {alias!r} is {taken[key]}'s already"})
            if alias:
                taken[key] = f"object {index} of this request"
        if problems:
            raise InvalidDocument("aliases must be unique per type in a folder", problems)

    def _object_fields(self, new: NewObject) -> dict[str, Any]:
        return {
            "content": dict(new.content),
            "source": new.source,
            "alias": alias_of(new.content),
            "title": title_of(new.type, new.content),
        }

    def _object(
        self, user: User, type_: ObjectType, accession: str, draft: bool | None
    ) -> tuple[FacilityRecord, FacilityRecord]:
        """The object and its folder, when the caller may read the folder. metadata-submitter's
        routes find drafts (``draft=True``) and objects (``False``) through their own routes
        only; ours (``None``) find either."""
        what = {True: "draft", False: "object", None: "object"}[draft]
        found = self._records.find_object(accession)
        if found is None or found[0] is not type_:
            raise not_found(what, accession)
        obj = found[1]
        if draft is not None and bool(obj.fields.get("draft")) != draft:
            raise not_found(what, accession)
        folder = self._records.find_folder(str(obj.fields.get("folder")))
        if folder is None or not rec.may_read(user, folder):
            raise not_found(what, accession)
        return obj, folder

    def get(self, user: User, type_: ObjectType, accession: str, *, draft: bool | None) -> JSONObject:
        obj, folder = self._object(user, type_, accession, draft)
        return self.object_view(type_, obj, folder)

    def get_xml(self, user: User, type_: ObjectType, accession: str, *, draft: bool | None) -> str:
        obj, _ = self._object(user, type_, accession, draft)
        return self._schemas.to_xml(type_, [obj.fields.get("content", {})])

    def replace(
        self, user: User, type_: ObjectType, accession: str, new: NewObject, *, draft: bool | None
    ) -> JSONObject:
        return self._edit(user, type_, accession, lambda _: new, draft=draft)

    def patch(self, user: User, type_: ObjectType, accession: str, changes: Any, *, draft: bool | None) -> JSONObject:
        """Top-level fields of ``changes`` replace the object's (``null`` removes one); the
        result is checked as a whole."""

        def patched(obj: FacilityRecord) -> NewObject:
            if not isinstance(changes, Mapping):
                raise ValidationError("the body is a JSON object of the fields to change", field="body")
            merged = {**obj.fields.get("content", {})}
            for key, value in changes.items():
                if key in META_KEYS:
                    continue
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            (new,) = self.parse_json(type_, merged)
            return NewObject(type_, new.content, str(obj.fields.get("source")))

        return self._edit(user, type_, accession, patched, draft=draft)

    def _edit(
        self,
        user: User,
        type_: ObjectType,
        accession: str,
        new_of: Callable[[FacilityRecord], NewObject],
        *,
        draft: bool | None,
    ) -> JSONObject:
        """The object replaced by ``new_of(the object as stored)``: authorized, checked (its
        alias) and saved, all again on the newer object when another write overtook it."""

        def attempt() -> tuple[FacilityRecord, FacilityRecord]:
            obj, folder = self._object(user, type_, accession, draft)
            folder = self._changeable(user, folder.uuid)
            new = new_of(obj)
            self._check_aliases(folder, [new], replacing=obj)
            return self._records.save(user, obj, self._object_fields(new), "replaced"), folder

        saved, folder = self._until_saved(attempt, f"object {accession[:64]}")
        return self.object_view(type_, saved, folder)

    def delete(self, user: User, type_: ObjectType, accession: str, *, draft: bool | None) -> None:
        obj, folder = self._object(user, type_, accession, draft)
        self._changeable(user, folder.uuid)
        self._records.delete(user, obj, "deleted")

    def list_objects(
        self, user: User, type_: ObjectType, *, draft: bool, words: str | None = None, folder_id: str | None = None
    ) -> list[JSONObject]:
        """The caller's objects (or drafts) of ``type_`` in the folders they may read."""
        folders = [self._folder(user, folder_id)] if folder_id else self._readable_folders(user)
        wanted = [w.lower() for w in (words or "").split() if w]
        out = []
        for folder in folders:
            for t, obj in self._records.objects_in(folder.uuid, [type_]):
                if bool(obj.fields.get("draft")) != draft:
                    continue
                text = f"{obj.fields.get('title', '')} {obj.fields.get('alias', '')}".lower()
                if all(w in text for w in wanted):
                    out.append(self.object_view(t, obj, folder))
        return out

    def _readable_folders(self, user: User) -> list[FacilityRecord]:
        return self._records.all_folders() if user.is_admin else self._records.folders_of(user.username)

    def object_view(self, type_: ObjectType, obj: FacilityRecord, folder: FacilityRecord) -> JSONObject:
        return {
            **obj.fields.get("content", {}),
            "accessionId": rec.accession_of(type_, obj.id),
            "schema": type_.name,
            "folderId": folder.uuid,
            "draft": bool(obj.fields.get("draft")),
            "dateCreated": iso(obj.fields.get("created_at")),
            "dateUpdated": iso(obj.updated_at),
            "publishDate": iso(obj.fields.get("published_at")),
            "version": obj.version,
        }

    # -- publish -----------------------------------------------------------------------------
    def publish(self, user: User, folder_id: str) -> JSONObject:
        """Drafts become objects, the folder and everything in it read-only, the studies,
        samples and EGA datasets catalogue datasets. Checked first (references, aliases):
        a folder that cannot be published changes nothing. A publication cut short (a crash)
        is finished by publishing again."""
        folder = self._folder(user, folder_id)
        if not rec.is_member(user, folder):
            raise Forbidden("only the folder's owner and editors publish it")
        state = folder.fields.get("state")
        if state == PUBLISHED:
            raise Conflict("the folder is published already")
        contents = self._records.objects_in(folder.uuid)
        if not contents:
            raise ValidationError("the folder holds nothing to publish", field="folderId")
        if state != PUBLISHING:
            problems = reference_problems(
                [(t, rec.accession_of(t, r.id), r.fields.get("content", {})) for t, r in contents], self._type_of
            )
            if problems:
                raise InvalidDocument(f"the folder cannot be published ({len(problems)} problems)", problems)
            folder = self._records.save(
                user, folder, {"state": PUBLISHING, "published_at": self._records.now()}, "publishing"
            )
        published_at = float(folder.fields["published_at"])
        for _, obj in contents:
            if obj.fields.get("draft") or obj.fields.get("published_at") is None:
                self._records.save(user, obj, {"draft": False, "published_at": published_at}, "published")
        self._to_catalogue(user, folder, contents, published_at)
        folder = self._records.save(user, folder, {"state": PUBLISHED}, "published")
        return self.folder_view(folder)

    def _type_of(self, accession: str) -> ObjectType | None:
        found = self._records.find_object(accession)
        return found[0] if found is not None else None

    def _to_catalogue(
        self, user: User, folder: FacilityRecord, contents: Iterable[tuple[ObjectType, FacilityRecord]], at: float
    ) -> None:
        own_project = folder.fields.get("project") is None
        project = f"submission:{folder.uuid}" if own_project else str(folder.fields["project"])
        members = (
            frozenset({str(folder.fields.get("owner")), *folder.fields.get("editors", [])}) if own_project else None
        )
        datasets = [
            dataset_content(
                type_,
                rec.accession_of(type_, obj.id),
                obj.fields.get("content", {}),
                folder=folder.fields,
                folder_id=folder.uuid,
                owner=str(obj.fields.get("owner")),
                created_at=float(obj.fields.get("created_at", at)),
                published_at=at,
                project=project,
            )
            for type_, obj in contents
            if type_.in_catalogue
        ]
        actor = User(username=SYSTEM_ACTOR, is_admin=True, acting_for=user.username)
        self._publish(actor, datasets, project, members)

    # -- logs ------------------------------------------------------------------------------
    def folder_log(self, user: User, folder_id: str, limit: int, after: str | None) -> LogPage:
        """The audit log of the folder record (its name, editors, publication), for whoever
        may read the folder."""
        folder = self._folder(user, folder_id)
        return read_log(self._audit, [facility_subject(folder.kind, folder.id)], limit, after)

    def object_log(self, user: User, accession: str, limit: int, after: str | None) -> LogPage:
        """The audit log of one object or draft (every version of its content), for whoever
        may read its folder."""
        obj, _ = self._object(user, object_type_of(accession), accession, None)
        return read_log(self._audit, [facility_subject(obj.kind, obj.id)], limit, after)

    # -- users -------------------------------------------------------------------------------
    def current_user(self, user: User) -> JSONObject:
        folders = self._records.folders_of(user.username)
        return {
            "userId": user.id,
            "name": user.display_name or user.username,
            "username": user.username,
            "projects": [{"projectId": p, "projectNumber": p} for p in sorted(user.projects)],
            "folders": [f.uuid for f in folders],
        }
