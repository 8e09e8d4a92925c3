"""The facility service: create, read, change and delete records of every kind, with
myMdC's rules (:mod:`chalicelib.facility.schema`), its permissions
(:mod:`chalicelib.facility.permissions`), the links a body carries as nested attributes
(:mod:`chalicelib.facility.nested_links`, all checked before the record is written) and data
groups kept as catalogue datasets (:mod:`chalicelib.facility.datasets`; a replica's change
checked before its row is written, :mod:`chalicelib.facility.replicas`).

Errors are the catalogue's domain errors; their messages are myMdC's, because its client
shows them to the user (``Resource not found!``, ``Proposal number 0 not found``) and
:class:`~chalicelib.facility.rules.InvalidRecord` carries Rails' field messages.
"""

from __future__ import annotations

import json
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.dynamodb.facility import ClaimTaken, FacilityRecord, FacilityStore
from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.catalogue.paging import LogPage, read_log
from chalicelib.domain import DatasetContent, JSONObject, User
from chalicelib.errors import Forbidden, InvalidRecord, NotFound
from chalicelib.facility import permissions as perm
from chalicelib.facility.audit import facility_subject
from chalicelib.facility.claims import claim_errors, claims_of, list_keys
from chalicelib.facility.datasets import (
    DataGroupDatasets,
    data_group_content,
    epoch_of,
    parse_files,
    repository_base_uri,
)
from chalicelib.facility.nested_links import MUST_EXIST, LinkChanges, link_changes
from chalicelib.facility.replicas import ReplicaChange, replica_change
from chalicelib.facility.rules import coerce, fields_for_create, fields_for_update, render_datetime
from chalicelib.facility.schema import INT, KINDS, Field, Kind
from chalicelib.retries import Sleep, retry_lost_races

RESOURCE_NOT_FOUND = "Resource not found!"
RAW = "RAW"

# the record an in-proposal kind's proposal is found through: kind -> (field, parent kind)
_PARENT = {
    "experiment": ("proposal_id", "proposal"),
    "sample": ("proposal_id", "proposal"),
    "run": ("experiment_id", "experiment"),
    "data_group": ("experiment_id", "experiment"),
    "data_file": ("data_group_id", "data_group"),
    "data_group_repository": ("data_group_id", "data_group"),
    "runs_technique": ("run_id", "run"),
    "runs_data_group": ("run_id", "run"),
}
# records that must go before their parent may (kind -> [(child kind, slot)])
_BLOCKING = {
    "proposal": [("experiment", 0), ("sample", 0)],
    "experiment": [("run", 1), ("data_group", 0)],
    "repository": [("data_group_repository", 1)],
}


def not_found() -> NotFound:
    return NotFound(RESOURCE_NOT_FOUND)


def _busy(kind: str, id: int) -> str:
    """What an edit that lost every race is told (no version: myMdC shows none)."""
    return f"the {kind} {id} is being changed by others; try again"


class FacilityService:
    def __init__(
        self,
        store: FacilityStore,
        datasets: DataGroupDatasets,
        clock: Callable[[], float] = time.time,
        new_uuid: Callable[[], str] = lambda: str(uuidlib.uuid4()),
        *,
        audit: Repository | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._store = store
        self._sleep = sleep  # the pause between the attempts of an edit that lost a race
        self._datasets = datasets
        self._clock = clock
        self._new_uuid = new_uuid
        self._audit = audit  # where the facility table's stream consumer writes the records' log

    # -- reading ------------------------------------------------------------------------
    def record(self, kind: str, id: int) -> FacilityRecord | None:
        return self._store.get(kind, id)

    def _required(self, user: User, kind: str, id: int) -> FacilityRecord:
        found = self._store.get(kind, id)
        if found is None or not self.may_read(user, found):
            raise not_found()
        return found

    def get(self, user: User, kind: str, id: int) -> JSONObject:
        return self.view(self._required(user, kind, id))

    def listing(self, user: User, kind: str, filters: Mapping[str, str]) -> list[FacilityRecord]:
        """The records of ``kind`` matching every filter (exact, on the stored value) that
        ``user`` may read, by id. A list slot's field is answered by the index."""
        k = KINDS[kind]
        wanted: dict[str, Any] = {}
        for name, raw in filters.items():
            f = k.field(name) or Field(name, INT)
            value, problems = coerce(f, raw)
            if problems:
                return []  # nothing has a value of the wrong type
            wanted[name] = value
        slot = next((i for i, name in enumerate(k.lists) if name is not None and name in wanted), None)
        if slot is not None:
            key = k.lists[slot]
            assert key is not None
            found = self._store.listed(kind, slot, f"{key}={json.dumps(wanted[key])}")
        else:
            found = self._store.all(kind)
        matching = [r for r in found if all(r.fields.get(n) == v for n, v in wanted.items())]
        return self._readable(user, matching)

    def _readable(self, user: User, records: Iterable[FacilityRecord]) -> list[FacilityRecord]:
        decided: dict[Any, bool] = {}
        out = []
        for r in records:
            key = r.fields.get("proposal_id") if KINDS[r.kind].in_proposal else (r.kind, r.id)
            if key not in decided:
                decided[key] = self.may_read(user, r)
            if decided[key]:
                out.append(r)
        return out

    # -- permissions ----------------------------------------------------------------------
    def _proposal_of(self, record: FacilityRecord) -> FacilityRecord | None:
        if record.kind == "proposal":
            return record
        if not KINDS[record.kind].in_proposal:
            return None
        pid = record.fields.get("proposal_id")
        return self._store.get("proposal", pid) if isinstance(pid, int) else None

    def daq_base_uri(self, proposal: FacilityRecord) -> str | None:
        """The base URI whose registrars are the proposal's DAQ: its instrument's repository's."""
        instrument = self._store.get("instrument", proposal.fields.get("instrument_id") or 0)
        repo_id = instrument.fields.get("repository_id") if instrument else None
        repo = self._store.get("repository", repo_id) if isinstance(repo_id, int) else None
        return str(repo.fields["base_uri"]) if repo is not None else None

    def may_read(self, user: User, record: FacilityRecord) -> bool:
        if record.kind != "proposal" and not KINDS[record.kind].in_proposal:
            return True
        proposal = self._proposal_of(record)
        if proposal is None:
            return perm.may_write_reference(user)
        return perm.may_read_proposal(user, proposal.fields.get("members") or (), self.daq_base_uri(proposal))

    def _require_write(self, user: User, kind: Kind, proposal: FacilityRecord | None) -> None:
        if kind.in_proposal and proposal is not None:
            if perm.may_write_proposal(user, self.daq_base_uri(proposal)):
                return
            if perm.may_read_proposal(user, proposal.fields.get("members") or (), None):
                raise Forbidden(f"no permission to change proposal {proposal.fields.get('number')}")
            raise not_found()
        if not perm.may_write_reference(user):
            raise Forbidden(f"only admins change {kind.path}")

    def _parent_proposal(self, user: User, kind: Kind, values: Mapping[str, Any]) -> FacilityRecord | None:
        """The proposal a new in-proposal record belongs to, through its parent; a parent
        that does not exist, or that the caller may not read, ``must exist``."""
        if kind.name not in _PARENT:
            return None
        name, parent_kind = _PARENT[kind.name]
        parent_id = values.get(name)
        parent = self._store.get(parent_kind, parent_id) if isinstance(parent_id, int) else None
        if parent is None or not self.may_read(user, parent):
            raise InvalidRecord({parent_kind: MUST_EXIST})
        proposal = self._proposal_of(parent)
        if proposal is None:
            raise InvalidRecord({parent_kind: MUST_EXIST})
        return proposal

    # -- changing ---------------------------------------------------------------------------
    def create(
        self,
        user: User,
        kind_name: str,
        body: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
        *,
        acting_for: str | None = None,
        id: int | None = None,
    ) -> JSONObject:
        """A new record of ``kind_name`` from a client's ``body`` (or the callable that reads
        it, called once the caller may create such records at all); ``id`` (admins:
        fixtures and imports) keeps a given id instead of allocating one."""
        kind = KINDS[kind_name]
        user = replace(user, acting_for=acting_for)  # the catalogue's writes name the person too
        if not kind.in_proposal:
            self._require_write(user, kind, None)  # admins only: before the body is read
        if id is not None and not perm.may_write_reference(user):
            raise Forbidden("only admins choose ids")
        if callable(body):
            body = body()
        values = fields_for_create(kind, body)
        proposal = self._parent_proposal(user, kind, values)
        self._require_write(user, kind, proposal)
        values = self._derive(kind, values, proposal, body)
        self._check_unique(kind, values, None)
        links = link_changes(self._store, kind.name, id, values, body)  # all checked before the record is stored
        replica = self._replica_change(user, kind, values, body, created=True)  # that one too
        record = self._insert(user, kind, values, acting_for, id)
        self._apply_links(user, record, links, acting_for)
        self._apply_replica(user, replica)
        self._after_create(user, record)
        return self.view(self._store.get(kind.name, record.id) or record)

    def _new(
        self, user: User, kind: Kind, values: dict[str, Any], acting_for: str | None, id: int | None
    ) -> FacilityRecord:
        """Store a new record of ``kind`` holding ``values`` once its unique values are free."""
        self._check_unique(kind, values, None)
        return self._insert(user, kind, values, acting_for, id)

    def _insert(
        self, user: User, kind: Kind, values: dict[str, Any], acting_for: str | None, id: int | None
    ) -> FacilityRecord:
        """Store a new record of ``kind`` holding ``values`` (already checked, unique ones
        too: a claim taken meanwhile is InvalidRecord) and its creation's time and creator, at
        ``id`` or a newly allocated one."""
        stamp = render_datetime(datetime.fromtimestamp(self._clock(), UTC))
        values = {**values, "created_at": stamp, "created_by": user.username}
        if id is None:
            id = self._store.allocate_id(kind.name)
        elif id > 0:
            self._store.reserve_ids(kind.name, id)
        record = self._stamped(user, kind, id, self._new_uuid(), 1, values, acting_for)
        if kind.name == "repository":
            self._datasets.ensure_repository(user, values["base_uri"], values["name"])
        try:
            self._store.create(record)
        except ClaimTaken as exc:
            raise InvalidRecord(claim_errors(kind, values, exc.claims)) from exc
        return record

    def update(
        self,
        user: User,
        kind_name: str,
        id: int,
        read_body: Callable[[], Mapping[str, Any]],
        *,
        acting_for: str | None = None,
    ) -> JSONObject:
        """Change record ``id`` with the body ``read_body`` gives, read only once the caller
        may change the record (authorize, then validate).

        myMdC's PUT names no version (Rails without ``lock_version``: the last writer wins), so
        a save that another write overtook is done again on the record as it is then,
        authorized and validated anew (the body may no longer be valid on it: InvalidRecord),
        after a jittered pause, a bounded number of times (:func:`retry_lost_races`); only
        then VersionConflict, whose message names no version."""
        kind = KINDS[kind_name]
        user = replace(user, acting_for=acting_for)
        body: Mapping[str, Any] | None = None  # read once, on the first attempt

        def attempt() -> tuple[FacilityRecord, Mapping[str, Any], LinkChanges | None, ReplicaChange | None]:
            nonlocal body
            stored = self._required(user, kind.name, id)
            self._require_write(user, kind, self._proposal_of(stored))
            if body is None:
                body = read_body()
            values = fields_for_update(kind, stored.fields, body)
            if kind.name == "repository":
                values["base_uri"] = stored.fields["base_uri"]  # entries live under it: it stays
            self._check_unique(kind, values, stored)
            links = link_changes(self._store, kind.name, id, values, body)  # checked before the save
            replica = self._replica_change(user, kind, values, body, created=False)  # that one too
            updated = self._stamped(user, kind, id, stored.uuid, stored.version + 1, values, acting_for)
            try:
                self._store.save(updated, stored.version)
            except ClaimTaken as exc:
                raise InvalidRecord(claim_errors(kind, values, exc.claims)) from exc
            return updated, body, links, replica

        updated, sent, links, replica = retry_lost_races(attempt, sleep=self._sleep, gave_up=_busy(kind.name, id))
        self._apply_links(user, updated, links, acting_for)
        self._apply_replica(user, replica)
        self._after_update(user, updated, sent)
        return self.view(self._store.get(kind.name, id) or updated)

    def _stamped(
        self,
        user: User,
        kind: Kind,
        id: int,
        uuid: str,
        version: int,
        values: dict[str, Any],
        acting_for: str | None,
    ) -> FacilityRecord:
        """Record ``id`` of ``kind`` at ``version`` holding ``values``, stamped as every
        create or update stores one: the list keys and claims of ``values``, who wrote it now
        (``user``) and for whom (``acting_for``)."""
        return FacilityRecord(
            kind=kind.name,
            id=id,
            uuid=uuid,
            version=version,
            fields=values,
            lists=list_keys(kind, values),
            claims=claims_of(kind, values),
            updated_at=self._clock(),
            updated_by=user.username,
            acting_for=acting_for,
        )

    def delete(self, user: User, kind_name: str, id: int, *, acting_for: str | None = None) -> None:
        kind = KINDS[kind_name]
        user = replace(user, acting_for=acting_for)
        stored = self._required(user, kind.name, id)
        self._require_write(user, kind, self._proposal_of(stored))
        for child, slot in _BLOCKING.get(kind.name, []):
            if self._store.listed(child, slot, f"{KINDS[child].lists[slot]}={json.dumps(id)}"):
                raise InvalidRecord({"base": [f"Cannot delete record because dependent {child}s exist"]})
        self._before_delete(user, stored)
        self._remove(user, stored)
        self._after_delete(user, stored)

    def _remove(self, user: User, record: FacilityRecord) -> None:
        """Delete ``record`` (at its version) as ``user``: saved once more first, naming the
        deleter, the person it acts for and the time and changing nothing else, because the
        store deletes outright and the audit log reads the delete's actor from the last image
        (:mod:`chalicelib.facility.audit`)."""
        stamped = replace(
            record,
            version=record.version + 1,
            updated_at=self._clock(),
            updated_by=user.username,
            acting_for=user.acting_for,
        )
        self._store.save(stamped, record.version)
        self._store.delete(record.kind, record.id, stamped.version)

    def record_log(self, user: User, kind: str, id: int, limit: int, after: str | None) -> LogPage:
        """The audit log of record ``id`` of ``kind`` (``GET /facility/{kind}/{id}/log``), paged
        as a dataset's: for whoever may read the record; once it is gone, for admins only
        (nothing else decides). An unknown kind, a record the caller may not read, or one that
        is gone and never logged: NotFound."""
        if kind not in KINDS:
            raise not_found()
        found = self._store.get(kind, id)
        allowed = perm.may_write_reference(user) if found is None else self.may_read(user, found)
        if not allowed:
            raise not_found()
        if self._audit is None:
            raise RuntimeError("this FacilityService was built without the audit repository")
        page = read_log(self._audit, [facility_subject(kind, id)], limit, after)
        if found is None and not page.entries and after is None:
            raise not_found()
        return page

    def set_members(self, admin: User, proposal_id: int, usernames: Iterable[str]) -> JSONObject:
        """Who may read the proposal and search its data (admins only)."""
        if not perm.may_write_reference(admin):
            raise Forbidden("only admins change a proposal's members")
        stored = self._required(admin, "proposal", proposal_id)
        members = frozenset(usernames)
        # the catalogue's side first (unknown users refused there): its members see the data
        self._datasets.set_members(admin, stored.uuid, members)

        def attempt() -> None:  # no version given: a lost race is done again (as update's)
            current = self._required(admin, "proposal", proposal_id)
            changed = replace(
                current,
                version=current.version + 1,
                fields={**current.fields, "members": sorted(members)},
                updated_by=admin.username,
                updated_at=self._clock(),
                acting_for=admin.acting_for,
            )
            self._store.save(changed, current.version)

        retry_lost_races(attempt, sleep=self._sleep, gave_up=_busy("proposal", proposal_id))
        return self.view(self._required(admin, "proposal", proposal_id))

    # -- the rules beyond fields ---------------------------------------------------------------
    def _derive(
        self, kind: Kind, values: dict[str, Any], proposal: FacilityRecord | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        out = dict(values)
        if proposal is not None and "proposal_id" in kind.derived:
            out["proposal_id"] = proposal.id
        if kind.name == "repository":
            out["base_uri"] = repository_base_uri(values["identifier"], str(values.get("mount_point") or ""))
        if kind.name == "proposal":
            out["members"] = []
        if kind.name == "experiment":
            given = body.get("experiment_number")
            number, problems = coerce(Field("experiment_number", INT), given)
            counter = f"experiment_number_p{values['proposal_id']}"
            if isinstance(number, int) and not problems and given is not None:
                self._store.reserve_ids(counter, number)
            else:
                number = self._store.allocate_id(counter)
            out["experiment_number"] = number
        return out

    def _check_unique(self, kind: Kind, values: Mapping[str, Any], stored: FacilityRecord | None) -> None:
        taken = []
        for claim in claims_of(kind, values):
            holder = self._store.claimant(claim)
            if holder is not None and (stored is None or holder != (stored.kind, stored.id)):
                taken.append(claim)
        if taken:
            raise InvalidRecord(claim_errors(kind, values, taken))

    def _after_create(self, user: User, record: FacilityRecord) -> None:
        if record.kind == "data_file":
            self.refresh_dataset(user, record.fields["data_group_id"])

    def _after_update(self, user: User, new: FacilityRecord, body: Mapping[str, Any]) -> None:
        if new.kind == "data_group":
            self.refresh_dataset(user, new.id)
        elif new.kind == "data_file":
            self.refresh_dataset(user, new.fields["data_group_id"])

    def _before_delete(self, user: User, record: FacilityRecord) -> None:
        if record.kind == "data_group_repository":
            self._apply_replica(user, replica_change(self._store, user, record.fields, False))
        elif record.kind == "data_group":
            rows = self._store.listed("data_group_repository", 0, f"data_group_id={record.id}")
            # every replica may be removed, or nothing is
            removals = [replica_change(self._store, user, row.fields, False) for row in rows]
            for row, removal in zip(rows, removals, strict=True):
                self._apply_replica(user, removal)
                self._remove(user, row)
            for kind in ("data_file", "runs_data_group"):
                slot = 1 if kind == "runs_data_group" else 0
                for child in self._store.listed(kind, slot, f"data_group_id={record.id}"):
                    self._remove(user, child)
        elif record.kind == "run":
            for kind in ("runs_technique", "runs_data_group"):
                for child in self._store.listed(kind, 0, f"run_id={record.id}"):
                    self._remove(user, child)

    def _after_delete(self, user: User, record: FacilityRecord) -> None:
        if record.kind == "data_file":
            self.refresh_dataset(user, record.fields["data_group_id"])

    def _apply_links(
        self, user: User, record: FacilityRecord, changes: LinkChanges | None, acting_for: str | None
    ) -> None:
        """Make and remove the links ``changes`` names, checked before ``record`` (the run or
        data group they belong to) was stored; a link the record holds already is not made again."""
        if changes is None:
            return
        for link in changes.remove:
            self._remove(user, link)
        for other in changes.make:
            values = changes.values(record, other)
            if all(self._store.claimant(claim) is None for claim in claims_of(changes.kind, values)):
                self._new(user, changes.kind, values, acting_for, None)

    # -- data groups as datasets ---------------------------------------------------------------
    def _replica_change(
        self, user: User, kind: Kind, values: Mapping[str, Any], body: Mapping[str, Any], *, created: bool
    ) -> ReplicaChange | None:
        """The catalogue's change a ``data_group_repository`` row about to hold ``values``
        asks for, checked before the row is written (:func:`replica_change`): on its creation,
        or an update whose ``body`` names ``flg_available``; ``None`` for anything else."""
        if kind.name != "data_group_repository" or not (created or "flg_available" in body):
            return None
        return replica_change(self._store, user, values, bool(values["flg_available"]))

    def _apply_replica(self, user: User, change: ReplicaChange | None) -> None:
        """Register or remove the replica ``change`` names (checked before its row was
        written). What can still refuse here is known to the catalogue only, and on a create
        or an update comes after the row was written (no transaction spans the facility table
        and the catalogue): the base URI deleted from the catalogue, annotation schemas that the
        data group's content breaks, registrations racing beyond the catalogue's retries, the
        data group deleted meanwhile."""
        if change is None:
            return
        if not change.available:
            self._datasets.unregister(user, change.uuid, change.base_uri)
            return
        group = self._store.get("data_group", change.data_group_id)  # as it is now: its content too
        if group is None:
            raise InvalidRecord({"data_group": MUST_EXIST})
        self._datasets.register(user, self.dataset_content(group), change.base_uri, str(group.fields["prefix_path"]))

    def refresh_dataset(self, user: User, data_group_id: int) -> None:
        """Bring every replica of the data group up to date with its records."""
        group = self._store.get("data_group", data_group_id)
        if group is None:
            return
        held = self.held_in(group)
        if not held:
            return
        content = self.dataset_content(group)
        for base_uri in sorted(held):
            self._datasets.register(user, content, base_uri, str(group.fields["prefix_path"]))

    def dataset_content(self, group: FacilityRecord) -> DatasetContent:
        """The catalogue's content of a data group (the same whoever registers a replica)."""
        g = group.fields
        proposal = self._store.get("proposal", g.get("proposal_id") or 0)
        instrument = self._store.get("instrument", proposal.fields.get("instrument_id") or 0) if proposal else None
        dg_type = self._store.get("data_group_type", g.get("data_group_type_id") or 0)
        links = self._store.listed("runs_data_group", 1, f"data_group_id={group.id}")
        runs = self._store.get_many("run", [link.fields["run_id"] for link in links])
        files = [
            e
            for f in self._store.listed("data_file", 0, f"data_group_id={group.id}")
            for e in parse_files(f.fields["files"])
        ]
        return data_group_content(
            uuid=group.uuid,
            data_group=g,
            data_group_id=group.id,
            type_identifier=str(dg_type.fields.get("identifier") or "") if dg_type else "",
            proposal=proposal.fields if proposal else {},
            instrument_identifier=str(instrument.fields.get("identifier") or "") if instrument else "",
            run_numbers=[int(r.fields["run_number"]) for r in runs],
            files=files,
            creator=str(g.get("created_by") or group.updated_by),
            created_at=epoch_of(g.get("created_at"), group.updated_at),
            project=proposal.uuid if proposal else None,
        )

    # -- views ----------------------------------------------------------------------------------
    def view(self, record: FacilityRecord) -> JSONObject:
        """A record as myMdC answers it: its fields and what is derived from them."""
        out: JSONObject = {"id": record.id, **{k: v for k, v in record.fields.items() if k not in ("members",)}}
        f = record.fields
        if record.kind == "proposal":
            instrument = self._store.get("instrument", f.get("instrument_id") or 0)
            cycle = self._store.get("instrument_cycle", f.get("instrument_cycle_id") or 0)
            ident = str(instrument.fields.get("identifier")) if instrument else ""
            out["instrument_identifier"] = ident
            out["proposal_folder"] = f"p{f['number']:06d}"
            cycle_part = cycle.fields.get("identifier") if cycle else ""
            out["def_proposal_path"] = f"/gpfs/exfel/exp/{ident}/{cycle_part}/p{f['number']:06d}/raw"
        elif record.kind == "experiment":
            out["doi"] = f"xfel.mdc.exp.{record.id}"
            out["experiment_folder"] = f"e{f['experiment_number']:04d}"
        elif record.kind == "run":
            out["run_folder"] = f"r{f['run_number']:04d}"
            out["techniques"] = self.run_techniques(record)
        elif record.kind == "data_group":
            out["doi"] = f"xfel.mdc.dg.{record.id}"
        elif record.kind == "data_group_repository":
            out["flg_available"] = self.replica_available(record)
        return out

    def run_techniques(self, run: FacilityRecord) -> list[JSONObject]:
        links = self._store.listed("runs_technique", 0, f"run_id={run.id}")
        techniques = {
            t.id: t for t in self._store.get_many("technique", [link.fields["technique_id"] for link in links])
        }
        out = []
        for link in links:
            technique = techniques.get(link.fields["technique_id"])
            if technique is not None:
                out.append({"id": technique.id, "runs_techniques_id": link.id, **dict(technique.fields)})
        return out

    def replica_available(self, row: FacilityRecord) -> bool:
        repo = self._store.get("repository", row.fields["repository_id"])
        group = self._store.get("data_group", row.fields["data_group_id"])
        if repo is None or group is None:
            return False
        return str(repo.fields["base_uri"]) in self.held_in(group)

    def held_in(self, group: FacilityRecord) -> frozenset[str]:
        """The base URIs holding a live replica of data group ``group`` (read from the catalogue)."""
        return self._datasets.available_in(group.uuid)
