"""The catalogue's projects, whichever domain keeps them: the Data Tracker's orders and the
facility's proposals (myMdC). Both are projects in the same sense: their uuid is the project
id of the data that belongs to them, and their people (an order's editors, a proposal's
members) see that data whatever its base URI. ``GET /projects`` lists both, each with its
``kind``; an order is changed through ``/projects`` or ``/api/v1``, a proposal through the
myMdC API (:mod:`chalicelib.routes.mymdc`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.domain import User
from chalicelib.errors import Forbidden, NotFound
from chalicelib.tracker import permissions as tp
from chalicelib.tracker.orders import Orders
from chalicelib.tracker.records import ORDER, TrackerRecords, canonical_uuid
from chalicelib.tracker.search import EVERYTHING, RecordFilter

# the proposals ``user`` may read (the facility service decides)
Proposals = Callable[[User], list[FacilityRecord]]


def proposal_document(proposal: FacilityRecord) -> dict[str, Any]:
    f = proposal.fields
    return {
        "_id": proposal.uuid,
        "kind": "proposal",
        "title": f.get("title", ""),
        "description": f.get("abstract") or f.get("description") or "",
        "number": f.get("number"),
        "doi": f.get("doi", ""),
        "begin_at": f.get("begin_at"),
        "mymdc": f"/proposals/{proposal.id}",
    }


class Projects:
    def __init__(self, records: TrackerRecords, orders: Orders, proposals: Proposals) -> None:
        self._records = records
        self._orders = orders
        self._proposals = proposals

    def listing(self, user: User, match: RecordFilter = EVERYTHING) -> list[dict[str, Any]]:
        """The orders ``user`` may read (with ORDERS), then the proposals they may read."""
        orders = self._orders.listing(user, match=match) if tp.may_list_orders(user) else []
        proposals = [p for p in self._proposals(user) if match.editor is None and _matches(match, p)]
        proposals.sort(key=lambda p: (p.fields.get("number") or 0, p.id))
        return [{**o, "kind": "order"} for o in orders] + [proposal_document(p) for p in proposals]

    def get(self, user: User, uuid: str) -> dict[str, Any]:
        """The order (for who may read it) or proposal (likewise) ``uuid``; NotFound for one
        who may not read it, with the message of an unknown uuid (not the order's 403 for a
        caller without ORDERS, nor its "no order": either would tell that the order exists)."""
        if self._records.find(ORDER, uuid) is not None:
            try:
                return {**self._orders.get(user, uuid), "kind": "order"}
            except (Forbidden, NotFound):
                raise NotFound(f"no project {uuid[:64]}") from None
        wanted = canonical_uuid(uuid)
        found = next((p for p in self._proposals(user) if p.uuid == wanted), None) if wanted else None
        if found is None:
            raise NotFound(f"no project {uuid[:64]}")
        return proposal_document(found)


def _matches(match: RecordFilter, proposal: FacilityRecord) -> bool:
    f = proposal.fields
    text = {"title": f.get("title", ""), "description": f"{f.get('abstract', '')} {f.get('description', '')}"}
    return match.matches(FacilityRecord(kind="proposal", id=proposal.id, uuid=proposal.uuid, version=1, fields=text))
