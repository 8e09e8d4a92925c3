"""The links a record's body may carry as Rails' nested attributes: a run's
``runs_techniques_attributes`` (``{"technique_id": t}`` links a technique, ``{"id": link,
"_destroy": 1}`` removes a link of the run) and a data group's ``runs_data_groups_attributes``
(``{"run_id": r}`` links a run of its proposal); ``""`` or absent: nothing.

:func:`link_changes` reads and checks every item before the record is written, so that a
refused link (InvalidRecord, with myMdC's message) leaves nothing behind: no record, no link,
no audit entry. What is left to do once the record is stored is a :class:`LinkChanges`, which
the facility service (:mod:`chalicelib.facility.records`) applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord, FacilityStore
from chalicelib.errors import InvalidRecord
from chalicelib.facility.rules import INVALID, coerce
from chalicelib.facility.schema import BOOL, INT, KINDS, Field, Kind

MUST_EXIST = ["must exist"]
MAX_ITEMS = 100  # items of one nested list


@dataclass(frozen=True)
class LinkChanges:
    """The checked link changes a record's body asks for: ``make``, the ids of the records
    to link it to (a run's techniques, a data group's runs) in the body's order; ``remove``,
    links of the record to delete. ``kind`` is the links' kind."""

    kind: Kind
    make: tuple[int, ...] = ()
    remove: tuple[FacilityRecord, ...] = ()

    def values(self, record: FacilityRecord, other: int) -> dict[str, Any]:
        """The fields of the link between ``record`` (the stored run or data group) and
        record ``other`` (a technique or a run)."""
        proposal_id = record.fields.get("proposal_id")
        if self.kind.name == "runs_technique":
            return {"run_id": record.id, "technique_id": other, "proposal_id": proposal_id}
        return {"run_id": other, "data_group_id": record.id, "proposal_id": proposal_id}


def link_changes(
    store: FacilityStore, kind_name: str, record_id: int | None, values: Mapping[str, Any], body: Mapping[str, Any]
) -> LinkChanges | None:
    """The link changes ``body`` asks of record ``record_id`` of ``kind_name`` (``None``: a
    new record whose id is not known yet, which has no links), about to hold ``values``, every
    item checked against ``store`` (nothing written); ``None`` for a kind without nested links.
    The first refused item is InvalidRecord."""
    if kind_name == "run":
        return _run_techniques(store, record_id, body.get("runs_techniques_attributes"))
    if kind_name == "data_group":
        return _data_group_runs(store, values, body.get("runs_data_groups_attributes"))
    return None


def _run_techniques(store: FacilityStore, run_id: int | None, attributes: Any) -> LinkChanges:
    """A technique to link must exist; a link named by ``id`` must be the run's, and still
    there when its item comes (not removed by an earlier one)."""
    make: list[int] = []
    remove: dict[int, FacilityRecord] = {}
    for item in _items(attributes, "runs_techniques"):
        link_id, _ = coerce(Field("id", INT), item.get("id"))
        destroy, _ = coerce(Field("_destroy", BOOL), item.get("_destroy"))
        if isinstance(link_id, int):
            link = None if link_id in remove else store.get("runs_technique", link_id)
            if link is None or link.fields.get("run_id") != run_id:
                raise InvalidRecord({"runs_techniques": [INVALID]})
            if destroy is True:
                remove[link_id] = link
            continue
        technique_id, problems = coerce(Field("technique_id", INT), item.get("technique_id"))
        if problems or not isinstance(technique_id, int) or store.get("technique", technique_id) is None:
            raise InvalidRecord({"runs_techniques.technique": MUST_EXIST})
        make.append(technique_id)
    return LinkChanges(KINDS["runs_technique"], tuple(make), tuple(remove.values()))


def _data_group_runs(store: FacilityStore, group: Mapping[str, Any], attributes: Any) -> LinkChanges:
    """A run to link must exist and be of the data group's proposal."""
    make: list[int] = []
    for item in _items(attributes, "runs_data_groups"):
        run_id, problems = coerce(Field("run_id", INT), item.get("run_id"))
        run = store.get("run", run_id) if isinstance(run_id, int) and not problems else None
        if run is None or run.fields.get("proposal_id") != group.get("proposal_id"):
            raise InvalidRecord({"runs_data_groups.run": MUST_EXIST})
        make.append(run.id)
    return LinkChanges(KINDS["runs_data_group"], tuple(make))


def _items(attributes: Any, name: str) -> list[Mapping[str, Any]]:
    """The items of a nested list: a list of objects, or an object of them (Rails' form
    ``{"0": {...}}``), at most :data:`MAX_ITEMS`; ``None`` or ``""`` is none."""
    if attributes is None or attributes == "":
        return []
    items = list(attributes.values()) if isinstance(attributes, dict) else attributes
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items) or len(items) > MAX_ITEMS:
        raise InvalidRecord({name: [INVALID]})
    return items
