"""Orders (the catalogue's projects, as the Data Tracker calls them) and the datasets they own.

An order's editors may read and change it and its datasets; DATA_MANAGEMENT may do so for
every order (:mod:`chalicelib.tracker.permissions`). A dataset belongs to one order for life
(it is listed under it; nothing moves it). Deleting an order deletes its datasets first, each
a logged deletion that also takes it out of every collection holding it, and the order last,
so that a deletion stopped half-way can simply be repeated.

Orders, datasets and collections a caller may not read answer 404, as unknown ones do.

An order may declare a site-defined annotation schema (its field ``annotation_schema``:
``name`` or ``name/version``, ``""`` for none; :mod:`chalicelib.catalogue.annotation_schemas`),
set by whoever may edit it and checked to name a registered schema: the catalogue then checks
the annotations of every dataset of the project against it (:func:`declared_schema`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.domain import User
from chalicelib.errors import Forbidden, NotFound, ValidationError
from chalicelib.facility.commented import COMMENT
from chalicelib.tracker import permissions as tp
from chalicelib.tracker.log import log_document, record_log
from chalicelib.tracker.people import People, summary
from chalicelib.tracker.records import COLLECTION, DATASET, ORDER, TrackerRecords, canonical_uuid, document
from chalicelib.tracker.search import EVERYTHING, RecordFilter

USER_LIST_FIELDS = ("authors", "generators", "editors")
ANNOTATION_SCHEMA = "annotation_schema"


class SchemaDeclarations(Protocol):
    """What the orders need of the annotation schemas
    (:class:`~chalicelib.catalogue.annotation_schemas.AnnotationSchemas`)."""

    def require_declarable(self, declaration: str, field: str = ANNOTATION_SCHEMA) -> None:
        """ValidationError unless ``declaration`` is ``""`` or names a registered schema."""

    def forget_project(self, project: str) -> None:
        """The declaration of ``project`` changed (a cached one is read again)."""


def declared_schema(records: TrackerRecords, project: str) -> str | None:
    """The annotation schema the project (an order's uuid) declares; None when it declares
    none or is no order (e.g. a facility proposal). One read."""
    order = records.find(ORDER, project)
    value = order.fields.get(ANNOTATION_SCHEMA) if order is not None else None
    return value if isinstance(value, str) and value else None


def title_ref(record: FacilityRecord) -> dict[str, Any]:
    return {"_id": record.uuid, "title": record.fields.get("title", "")}


def editors_of(record: FacilityRecord) -> list[str]:
    return list(record.fields.get("editors", ()))


# (order uuid, usernames): make exactly these the members of the catalogue project that the
# order is (chalicelib.identity.access.AccessService.set_project_members): its editors see the
# data registered for its datasets whatever the base URI
Members = Callable[[str, frozenset[str]], None]


class Orders:
    def __init__(
        self,
        records: TrackerRecords,
        people: People,
        members: Members | None = None,
        schemas: SchemaDeclarations | None = None,
    ) -> None:
        self._records = records
        self._people = people
        self._members = members
        self._schemas = schemas

    def _check_declaration(self, values: Mapping[str, Any]) -> None:
        """A declared annotation schema must be registered (without the schemas: none may be
        declared)."""
        declared = values.get(ANNOTATION_SCHEMA)
        if not declared:
            return
        if self._schemas is None:
            raise ValidationError("annotation schemas are not available here", field=ANNOTATION_SCHEMA)
        self._schemas.require_declarable(declared, ANNOTATION_SCHEMA)

    def _sync_members(self, order_uuid: str, editor_ids: Iterable[str]) -> None:
        if self._members is not None:
            by_id = self._people.by_id()
            self._members(order_uuid, frozenset(by_id[i].username for i in editor_ids if i in by_id))

    # -- orders ---------------------------------------------------------------------------
    def require_orders(self, user: User) -> None:
        """Every order route's gate: the ORDERS permission (Forbidden before any read)."""
        if not tp.may_list_orders(user):
            raise Forbidden("orders need the ORDERS permission")

    def order(self, user: User, uuid: str) -> FacilityRecord:
        """The order ``uuid`` for one who may read and edit it (NotFound otherwise)."""
        self.require_orders(user)
        return _require_editor(user, uuid, self._records.find(ORDER, uuid))

    def listing(
        self, user: User, owner_id: str | None = None, match: RecordFilter = EVERYTHING
    ) -> list[dict[str, Any]]:
        """The orders ``user`` edits (all of them for DATA_MANAGEMENT), or those ``owner_id``
        edits (their own, or anyone's with OWNERS_READ)."""
        self.require_orders(user)
        if owner_id is not None:
            if not tp.may_read_users_orders(user, owner_id):
                raise Forbidden("other users' orders need OWNERS_READ")
            mine = [o for o in self._records.all(ORDER) if owner_id in editors_of(o)]
        elif tp.sees_all_orders(user):
            mine = self._records.all(ORDER)
        else:
            mine = [o for o in self._records.all(ORDER) if tp.is_editor(user, editors_of(o))]
        kept = sorted((o for o in mine if match.matches(o)), key=lambda r: r.fields.get("created_at", 0))
        return [self._list_entry(o) for o in kept]

    @staticmethod
    def _list_entry(order: FacilityRecord) -> dict[str, Any]:
        f = order.fields
        return {
            "_id": order.uuid,
            "title": f.get("title", ""),
            "tags_standard": f.get("tags_standard", {}),
            "tags_user": f.get("tags_user", {}),
        }

    def require_add(self, user: User) -> None:
        if not tp.may_add_order(user):
            raise Forbidden("adding orders needs the ORDERS_SPECIAL permission")

    def add(self, user: User, fields: Mapping[str, Any]) -> str:
        self.require_add(user)
        values = self._checked_users(fields)
        self._check_declaration(values)
        editors = list(values.get("editors", ()))
        if user.id not in editors:
            editors.append(user.id)  # the creator edits what they made (as the original)
        values = {**values, "editors": editors}
        uuid = self._records.create(user, ORDER, values, "Order added").uuid
        self._sync_members(uuid, editors)
        return uuid

    def get(self, user: User, uuid: str) -> dict[str, Any]:
        return self._render(self.order(user, uuid))

    def _render(self, order: FacilityRecord) -> dict[str, Any]:
        by_id = self._people.by_id()
        doc = document(order)
        for name in USER_LIST_FIELDS:
            doc[name] = [summary(by_id.get(i), i) for i in order.fields.get(name, ())]
        org = order.fields.get("organisation", "")
        doc["organisation"] = summary(by_id.get(org), org) if org else {}
        doc["datasets"] = [title_ref(d) for d in self._records.datasets_of(order.uuid)]
        return doc

    def update(self, user: User, uuid: str, fields: Mapping[str, Any], version: int | None = None) -> dict[str, Any]:
        """Change the order (at ``version``, when given); returns it as :meth:`get` does.

        Without a version, a save that another write overtook is done again on the order as
        it is then (:meth:`~chalicelib.tracker.records.TrackerRecords.update`): each attempt
        decides who may edit from the editors of the order it read (one no longer among them:
        NotFound, nothing saved), validates the change and saves at that order's version."""
        self.order(user, uuid)  # NotFound before anything else, a 409 included
        values = dict(fields)
        before: list[str] = []  # the editors of the order the saving attempt read

        def change(stored: FacilityRecord) -> dict[str, Any]:
            nonlocal before
            _require_editor(user, uuid, stored)
            self._check_values(values)
            before = editors_of(stored)
            return _changed(stored, values)

        updated = self._records.update(user, ORDER, uuid, change, "Order updated", expected_version=version)
        if editors_of(updated) != before:
            self._sync_members(uuid, editors_of(updated))
        if ANNOTATION_SCHEMA in values and self._schemas is not None:
            self._schemas.forget_project(uuid)
        return self._render(updated)  # what was written (an editor may have just left it)

    def delete(self, user: User, uuid: str) -> None:
        """Delete the order: its datasets first (:meth:`remove_dataset`), then the order, as
        :meth:`~chalicelib.facility.commented.CommentedRecords.delete` does (saved once more
        naming the deleter and the comment, then removed at the version that save made).

        That save is made at the version of the order that was read and authorized, as an
        edit sent without a version is (:meth:`~chalicelib.tracker.records.TrackerRecords.update`):
        one that another write overtook is done again on the order as it is then, each attempt
        deciding from the editors of the order it read whether the caller may delete it (one
        no longer among them: NotFound, the order kept) and deleting the datasets it has then."""
        self.order(user, uuid)  # Forbidden / NotFound before anything else

        def deletion(stored: FacilityRecord) -> dict[str, Any]:
            _require_editor(user, uuid, stored)
            for dataset in self._records.datasets_of(stored.uuid):
                self.remove_dataset(user, dataset, f"Deleted with order {stored.uuid}")
            return {COMMENT: "Order deleted"}  # no field changes: the save only names the deletion

        stamped = self._records.update(user, ORDER, uuid, deletion, "Order deleted")
        self._records.store.delete(ORDER, stamped.id, stamped.version)
        self._sync_members(uuid, ())
        if self._schemas is not None:
            self._schemas.forget_project(uuid)

    def _checked_users(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(fields)
        for name in USER_LIST_FIELDS:
            if name in values:
                self._people.require_ids(values[name], name)
        if values.get("organisation"):
            self._people.require_ids([values["organisation"]], "organisation")
        return values

    def _check_values(self, values: Mapping[str, Any]) -> None:
        """ValidationError unless the changed fields ``values`` are valid: the users they name
        are live, at least one editor stays, a declared annotation schema is registered."""
        self._checked_users(values)
        if "editors" in values and not values["editors"]:
            raise ValidationError("editors: an order keeps at least one editor", field="editors")
        self._check_declaration(values)

    # -- the datasets of an order ---------------------------------------------------------
    def log(self, user: User, uuid: str) -> dict[str, Any]:
        """The order's log, for those who may edit it; once it is gone, for DATA_MANAGEMENT."""
        self.require_orders(user)
        found = self._records.find(ORDER, uuid)
        return gone_or_allowed_log(
            self._records, user, ORDER, uuid, found, found is not None and tp.may_edit_order(user, editors_of(found))
        )

    def require_add_dataset(self, user: User, order_uuid: str) -> FacilityRecord:
        """The order ``order_uuid``, when ``user`` may add datasets to it: an editor without
        ORDERS gets Forbidden (they may read it through its datasets), anyone else NotFound."""
        order = self._records.find(ORDER, order_uuid)
        if order is None or not tp.may_add_dataset(user, editors_of(order)):
            if order is not None and tp.is_editor(user, editors_of(order)):
                raise Forbidden("adding datasets to an order needs the ORDERS permission")
            raise NotFound(f"no order {order_uuid[:64]}")
        return order

    def add_dataset(self, user: User, order_uuid: str, fields: Mapping[str, Any]) -> str:
        order = self.require_add_dataset(user, order_uuid)
        if "title" not in fields:
            raise ValidationError("title is required", field="title")
        values = {**fields, "order": order.uuid}
        return self._records.create(
            user, DATASET, values, f"Dataset added to order {order.uuid}", order=order.uuid
        ).uuid

    def remove_dataset(self, user: User, dataset: FacilityRecord, comment: str) -> None:
        """Delete ``dataset`` (authorized by the caller), first taking it out of every
        collection that holds it (each such edit logged)."""
        for collection in self._records.all(COLLECTION):
            if dataset.uuid in collection.fields.get("datasets", ()):
                self._records.update(
                    user,
                    COLLECTION,
                    collection.uuid,
                    lambda stored: {"datasets": [d for d in stored.fields.get("datasets", ()) if d != dataset.uuid]},
                    f"Dataset {dataset.uuid} deleted",
                )
        self._records.delete(user, self._records.get(DATASET, dataset.uuid), comment)


def gone_or_allowed_log(
    records: TrackerRecords, user: User, kind: str, uuid: str, found: FacilityRecord | None, allowed: bool
) -> dict[str, Any]:
    """The log of ``uuid``: for whom ``allowed`` while it exists; once it is gone, for
    DATA_MANAGEMENT only (NotFound otherwise, and when it never existed)."""
    canonical = canonical_uuid(uuid)
    if canonical is None or (found is None and not tp.sees_all_orders(user)) or (found is not None and not allowed):
        raise NotFound(f"no {kind} {uuid[:64]}")  # not a uuid: nothing ever had that id
    doc = log_document(kind, canonical, record_log(records.audit, kind, canonical))
    if found is None and not doc["logs"]:
        raise NotFound(f"no {kind} {uuid[:64]}")
    return doc


def _require_editor(user: User, uuid: str, found: FacilityRecord | None) -> FacilityRecord:
    """``found`` (the order ``uuid`` as read, or None) when ``user`` may read and edit it;
    NotFound otherwise (as for an unknown order)."""
    if found is None or not tp.may_edit_order(user, editors_of(found)):
        raise NotFound(f"no order {uuid[:64]}")
    return found


def _changed(stored: FacilityRecord, values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if stored.fields.get(k) != v}
