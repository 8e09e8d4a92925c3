"""The Data Tracker's datasets: described before any data exists, owned by one order for life.

A dataset's uuid is a catalogue dataset's uuid: once data with that uuid is registered (under a
base URI, by whoever may register there), its entries are the dataset's replicas, shown to the
caller as far as base-URI permissions let them see (:class:`Replicas`). Its generators, authors,
organisation and editors are its order's; ``related`` (the order's other datasets) and
``collections`` (those holding it) are computed, listing only what the caller may read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.domain import User
from chalicelib.errors import Forbidden, NotFound
from chalicelib.tracker import permissions as tp
from chalicelib.tracker.orders import Orders, editors_of, gone_or_allowed_log, title_ref
from chalicelib.tracker.people import People, summary
from chalicelib.tracker.records import COLLECTION, DATASET, ORDER, TrackerRecords, canonical_uuid, document
from chalicelib.tracker.search import EVERYTHING, RecordFilter

# (caller, uuid) -> the catalogue entries of that uuid the caller may see, as JSON
Replicas = Callable[[User, str], list[dict[str, Any]]]


class TrackerDatasets:
    def __init__(
        self, records: TrackerRecords, people: People, orders: Orders, replicas: Replicas | None = None
    ) -> None:
        self._records = records
        self._people = people
        self._orders = orders
        self._replicas = replicas

    def _order_editors(self, dataset: FacilityRecord, orders: Mapping[str, FacilityRecord] | None = None) -> list[str]:
        uuid = str(dataset.fields.get("order", ""))
        order = orders.get(uuid) if orders is not None else self._records.find(ORDER, uuid)
        return editors_of(order) if order is not None else []

    def readable(self, user: User, dataset: FacilityRecord, orders: Mapping[str, FacilityRecord] | None = None) -> bool:
        return tp.may_read_dataset(user, self._order_editors(dataset, orders), bool(dataset.fields.get("published")))

    def _readable_one(self, user: User, uuid: str, order: str | None = None) -> FacilityRecord:
        """The dataset ``uuid`` (of ``order``, when given) when ``user`` may read it."""
        found = self._records.find(DATASET, uuid)
        if found is None or not self.readable(user, found) or (order is not None and not _of(found, order)):
            raise NotFound(f"no dataset {uuid[:64]}")
        return found

    def editable(self, user: User, uuid: str, order: str | None = None) -> FacilityRecord:
        """The dataset ``uuid`` (of ``order``, when given) for one who may change it (NotFound
        for one who may not even read it; Forbidden for a reader who may not change it)."""
        return self._require_editor(user, uuid, self._records.find(DATASET, uuid), order)

    def _require_editor(
        self, user: User, uuid: str, found: FacilityRecord | None, order: str | None = None
    ) -> FacilityRecord:
        """``found`` (the dataset ``uuid`` as read, or None) when ``user`` may change it, as
        the editors of its order (read now, once) decide; NotFound or Forbidden as
        :meth:`editable`."""
        editors = self._order_editors(found) if found is not None else []
        if (
            found is None
            or not tp.may_read_dataset(user, editors, bool(found.fields.get("published")))
            or (order is not None and not _of(found, order))
        ):
            raise NotFound(f"no dataset {uuid[:64]}")
        if not tp.may_edit_dataset(user, editors):
            raise Forbidden("only the editors of its order (or DATA_MANAGEMENT) may change a dataset")
        return found

    def listing(
        self, user: User, owner_id: str | None = None, match: RecordFilter = EVERYTHING, order: str | None = None
    ) -> list[dict[str, Any]]:
        """The datasets ``user`` may read (of the orders ``owner_id`` edits, of ``order``, when
        given) that ``match`` keeps."""
        orders = {o.uuid: o for o in self._records.all(ORDER)}
        if owner_id is not None:
            self._orders.listing(user, owner_id)  # the same rule as for that user's orders
            wanted = {u for u, o in orders.items() if owner_id in editors_of(o)}
        out = []
        for d in sorted(self._records.all(DATASET), key=lambda r: r.fields.get("created_at", 0)):
            if owner_id is not None and d.fields.get("order") not in wanted:
                continue
            if not match.matches(d) or (order is not None and not _of(d, order)):
                continue
            if self.readable(user, d, orders):
                out.append({**title_ref(d), "tags_standard": d.fields.get("tags_standard", {}),
                            "tags_user": d.fields.get("tags_user", {})})  # fmt: skip
        return out

    def get(self, user: User, uuid: str, order: str | None = None) -> dict[str, Any]:
        return self._render(user, self._readable_one(user, uuid, order))

    def _render(self, user: User, dataset: FacilityRecord) -> dict[str, Any]:
        """``dataset`` as :meth:`get` shows it to ``user``."""
        owning = self._records.find(ORDER, str(dataset.fields.get("order", "")))
        editors = editors_of(owning) if owning is not None else []
        doc = document(dataset)
        doc.pop("order", None)
        by_id = self._people.by_id()
        of_order = owning.fields if owning is not None else {}
        doc["authors"] = [summary(by_id.get(i), i) for i in of_order.get("authors", ())]
        doc["generators"] = [summary(by_id.get(i), i) for i in of_order.get("generators", ())]
        org = of_order.get("organisation", "")
        doc["organisation"] = summary(by_id.get(org), org) if org else {}
        siblings = self._records.datasets_of(owning.uuid) if owning is not None else []
        doc["related"] = [
            title_ref(d) for d in siblings if d.uuid != dataset.uuid and tp.may_read_dataset(
                user, editors, bool(d.fields.get("published")))
        ]  # fmt: skip
        doc["collections"] = [
            title_ref(c)
            for c in self._records.all(COLLECTION)
            if dataset.uuid in c.fields.get("datasets", ())
            and tp.may_read_collection(user, editors_of(c), bool(c.fields.get("published")))
        ]
        if tp.may_see_hidden_dataset_fields(user, editors) and owning is not None:
            doc["order"] = title_ref(owning)
            doc["editors"] = [summary(by_id.get(i), i) for i in editors]
        if self._replicas is not None:
            doc["replicas"] = self._replicas(user, dataset.uuid)
        return doc

    def update(self, user: User, uuid: str, fields: Mapping[str, Any], version: int | None = None) -> dict[str, Any]:
        """Change the dataset (at ``version``, when given); returns it as :meth:`get` does.

        Without a version, a save that another write overtook is done again on the dataset as
        it is then (:meth:`~chalicelib.tracker.records.TrackerRecords.update`): each attempt
        decides who may edit from the dataset it read and the editors of its order, read in
        that attempt (one no longer among them: NotFound or Forbidden as :meth:`editable`,
        nothing saved), and saves at that dataset's version. The fields need no check against
        the stored state: the routes parse them (``fields.parse_dataset``)."""
        self.editable(user, uuid)  # NotFound / Forbidden before anything else, a 409 included
        values = dict(fields)

        def change(stored: FacilityRecord) -> dict[str, Any]:
            self._require_editor(user, uuid, stored)
            return {k: v for k, v in values.items() if stored.fields.get(k) != v}

        updated = self._records.update(user, DATASET, uuid, change, "Dataset updated", expected_version=version)
        return self._render(user, updated)  # what was written (its editor may have left the order since)

    def log(self, user: User, uuid: str) -> dict[str, Any]:
        found = self._records.find(DATASET, uuid)
        allowed = found is not None and tp.may_edit_dataset(user, self._order_editors(found))
        return gone_or_allowed_log(self._records, user, DATASET, uuid, found, allowed)

    def delete(self, user: User, uuid: str) -> None:
        dataset = self.editable(user, uuid)
        self._orders.remove_dataset(user, dataset, "Dataset deleted")


def _of(dataset: FacilityRecord, order: str) -> bool:
    return dataset.fields.get("order") == canonical_uuid(order)
