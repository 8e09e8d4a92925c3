"""Collections: datasets from anywhere, grouped (e.g. before publication) by their editors.

Any signed-in user may make one; its editors (the creator always among them) and
DATA_MANAGEMENT may change it; it holds only datasets its editor may read, and shows a reader
only the datasets they may read. Published, it is public (its editors stay hidden).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.domain import User
from chalicelib.errors import Forbidden, NotFound, ValidationError
from chalicelib.tracker import permissions as tp
from chalicelib.tracker.datasets import TrackerDatasets
from chalicelib.tracker.orders import editors_of, gone_or_allowed_log, title_ref
from chalicelib.tracker.people import People, summary
from chalicelib.tracker.records import COLLECTION, DATASET, ORDER, TrackerRecords, document
from chalicelib.tracker.search import EVERYTHING, RecordFilter


class Collections:
    def __init__(self, records: TrackerRecords, people: People, datasets: TrackerDatasets) -> None:
        self._records = records
        self._people = people
        self._datasets = datasets

    @staticmethod
    def readable(user: User, collection: FacilityRecord) -> bool:
        return tp.may_read_collection(user, editors_of(collection), bool(collection.fields.get("published")))

    def _readable_one(self, user: User, uuid: str) -> FacilityRecord:
        found = self._records.find(COLLECTION, uuid)
        if found is None or not self.readable(user, found):
            raise NotFound(f"no collection {uuid[:64]}")
        return found

    def editable(self, user: User, uuid: str) -> FacilityRecord:
        """The collection ``uuid`` for one who may change it (NotFound for one who may not
        even read it; Forbidden for a reader who may not change it)."""
        return self._require_editor(user, uuid, self._records.find(COLLECTION, uuid))

    def _require_editor(self, user: User, uuid: str, found: FacilityRecord | None) -> FacilityRecord:
        """``found`` (the collection ``uuid`` as read, or None) when ``user`` may change it;
        NotFound or Forbidden as :meth:`editable`."""
        if found is None or not self.readable(user, found):
            raise NotFound(f"no collection {uuid[:64]}")
        if not tp.may_edit_collection(user, editors_of(found)):
            raise Forbidden("only a collection's editors (or DATA_MANAGEMENT) may change it")
        return found

    def listing(
        self, user: User, owner_id: str | None = None, match: RecordFilter = EVERYTHING
    ) -> list[dict[str, Any]]:
        if owner_id is not None and owner_id != user.id and not tp.may_read_users_orders(user, owner_id):
            raise Forbidden("other users' collections need OWNERS_READ")
        out = []
        for c in sorted(self._records.all(COLLECTION), key=lambda r: r.fields.get("created_at", 0)):
            if owner_id is not None and owner_id not in editors_of(c):
                continue
            if not match.matches(c):
                continue
            if self.readable(user, c):
                f = c.fields
                out.append({**title_ref(c), "tags_standard": f.get("tags_standard", {}),
                            "tags_user": f.get("tags_user", {})})  # fmt: skip
        return out

    def _check_datasets(self, user: User, uuids: list[str]) -> None:
        orders = {o.uuid: o for o in self._records.all(ORDER)}
        for uuid in uuids:
            found = self._records.find(DATASET, uuid)
            readable = found is not None and self._datasets.readable(user, found, orders)
            if not tp.may_add_to_collection(user, readable):
                raise ValidationError(f"datasets: no dataset {uuid}", field="datasets")

    def require_add(self, user: User) -> None:
        if not tp.may_add_collection(user):
            raise Forbidden("sign in to add a collection")

    def log(self, user: User, uuid: str) -> dict[str, Any]:
        found = self._records.find(COLLECTION, uuid)
        allowed = found is not None and tp.may_edit_collection(user, editors_of(found))
        return gone_or_allowed_log(self._records, user, COLLECTION, uuid, found, allowed)

    def add(self, user: User, fields: Mapping[str, Any]) -> str:
        self.require_add(user)
        values = dict(fields)
        self._check_datasets(user, list(values.get("datasets", ())))
        editors = list(values.get("editors", ()))
        self._people.require_ids(editors, "editors")
        if user.id not in editors:
            editors.append(user.id)
        values = {**values, "editors": editors}
        return self._records.create(user, COLLECTION, values, "Collection added").uuid

    def get(self, user: User, uuid: str) -> dict[str, Any]:
        return self._render(user, self._readable_one(user, uuid))

    def _render(self, user: User, collection: FacilityRecord, editors_shown: bool = False) -> dict[str, Any]:
        doc = document(collection)
        orders = {o.uuid: o for o in self._records.all(ORDER)}
        shown = []
        for d_uuid in collection.fields.get("datasets", ()):
            found = self._records.find(DATASET, d_uuid)
            if found is not None and self._datasets.readable(user, found, orders):
                shown.append(title_ref(found))
        doc["datasets"] = shown
        editors = editors_of(collection)
        if editors_shown or tp.may_see_collection_editors(user, editors):
            by_id = self._people.by_id()
            doc["editors"] = [summary(by_id.get(i), i) for i in editors]
        else:
            doc.pop("editors", None)
        return doc

    def update(self, user: User, uuid: str, fields: Mapping[str, Any], version: int | None = None) -> dict[str, Any]:
        """Change the collection (at ``version``, when given); returns it as :meth:`get` does.

        Without a version, a save that another write overtook is done again on the collection
        as it is then (:meth:`~chalicelib.tracker.records.TrackerRecords.update`): each attempt
        authorizes the caller and checks the change (:meth:`_checked_change`) on the collection
        it read, and saves at that collection's version."""
        self.editable(user, uuid)  # NotFound / Forbidden before anything else, a 409 included
        values = dict(fields)

        def change(stored: FacilityRecord) -> dict[str, Any]:
            self._require_editor(user, uuid, stored)
            return self._checked_change(user, stored, values)

        updated = self._records.update(user, COLLECTION, uuid, change, "Collection updated", expected_version=version)
        return self._render(user, updated, editors_shown=True)  # what was written (its editor may have left)

    def _checked_change(self, user: User, stored: FacilityRecord, values: Mapping[str, Any]) -> dict[str, Any]:
        """The fields of ``values`` that change ``stored``, once valid on it: each dataset it
        lists that ``stored`` does not hold exists now and ``user`` may read it (those it
        holds stay allowed: their owner may have hidden them since), and at least one editor,
        each a live user."""
        if "datasets" in values:
            held = set(stored.fields.get("datasets", ()))
            self._check_datasets(user, [d for d in values["datasets"] if d not in held])
        if "editors" in values:
            self._people.require_ids(values["editors"], "editors")
            if not values["editors"]:
                raise ValidationError("editors: a collection keeps at least one editor", field="editors")
        return {k: v for k, v in values.items() if stored.fields.get(k) != v}

    def delete(self, user: User, uuid: str) -> None:
        stored = self.editable(user, uuid)
        self._records.delete(user, stored, "Collection deleted")
