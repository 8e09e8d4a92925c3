"""myMdC's composite reads: a proposal by number, its DAQ info, the active proposal of an
instrument, a proposal's runs with where their data is, a run's RAW data group ids and files.

Each answers what the caller may read only: a proposal the caller may not read is "not
found", exactly as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord, FacilityStore
from chalicelib.domain import JSONObject, User
from chalicelib.errors import NotFound
from chalicelib.facility.claims import claim_for
from chalicelib.facility.datasets import parse_files
from chalicelib.facility.records import RAW, FacilityService, not_found

ACTIVE = "R"  # flg_beamtime_status of a proposal taking beamtime now


def proposal_not_found(number: object) -> NotFound:
    return NotFound(f"Proposal number {number} not found")


class FacilityQueries:
    def __init__(self, service: FacilityService, store: FacilityStore) -> None:
        self._service = service
        self._store = store

    def proposal_record(self, user: User, number: int) -> FacilityRecord:
        holder = self._store.claimant(claim_for("proposal", "number", {"number": number}))
        proposal = self._store.get("proposal", holder[1]) if holder else None
        if proposal is None or not self._service.may_read(user, proposal):
            raise proposal_not_found(number)
        return proposal

    def proposal_by_number(self, user: User, number: int) -> JSONObject:
        return self._service.view(self.proposal_record(user, number))

    def active_proposal(self, user: User, instrument_id: int) -> JSONObject:
        """The instrument's proposal taking beamtime (``flg_beamtime_status`` R) that started
        last; 404 when there is none the caller may read."""
        if self._store.get("instrument", instrument_id) is None:
            raise not_found()
        running = [
            p
            for p in self._store.listed("proposal", 0, f"instrument_id={instrument_id}")
            if p.fields.get("flg_beamtime_status") == ACTIVE and p.fields.get("flg_available") is not False
        ]
        running = [p for p in running if self._service.may_read(user, p)]
        if not running:
            raise not_found()
        latest = max(running, key=lambda p: (str(p.fields.get("beamtime_start_at") or ""), p.id))
        return self._service.view(latest)

    def runs_of(self, user: User, proposal_number: int) -> tuple[FacilityRecord, list[FacilityRecord]]:
        """The proposal and its runs, by run number."""
        proposal = self.proposal_record(user, proposal_number)
        runs = self._store.listed("run", 0, f"proposal_id={proposal.id}")
        return proposal, sorted(runs, key=lambda r: (r.fields["run_number"], r.id))

    def run(self, user: User, proposal_number: int, run_number: int) -> FacilityRecord:
        proposal = self.proposal_record(user, proposal_number)
        holder = self._store.claimant(
            claim_for("run", "run_number", {"proposal_id": proposal.id, "run_number": run_number})
        )
        run = self._store.get("run", holder[1]) if holder else None
        if run is None:
            raise not_found()
        return run

    def runs_view(self, proposal: FacilityRecord, runs: list[FacilityRecord]) -> JSONObject:
        """``proposals/by_number/{n}/runs``: the proposal's id, number and title, and per run
        its state, files and the repositories holding its data groups."""
        experiments: dict[Any, FacilityRecord | None] = {}
        samples: dict[Any, FacilityRecord | None] = {}
        out = []
        for run in runs:
            f = run.fields
            groups = self._groups_of(run)
            repositories: dict[str, JSONObject] = {}
            num_files = 0
            for group in groups:
                num_files += sum(len(parse_files(d.fields["files"])) for d in self._files_of(group))
                held = self._service.held_in(group)  # one read of the catalogue per data group
                for row in self._store.listed("data_group_repository", 0, f"data_group_id={group.id}"):
                    repo = self._store.get("repository", row.fields["repository_id"])
                    if repo is None or str(repo.fields["base_uri"]) not in held:
                        continue
                    ident = str(repo.fields["identifier"])
                    entry = repositories.setdefault(
                        ident,
                        {"name": repo.fields["name"], "mount_point": repo.fields["mount_point"], "data_groups": 0},
                    )
                    entry["data_groups"] += 1
            exp_id, sample_id = f.get("experiment_id"), f.get("sample_id")
            if exp_id not in experiments:
                experiments[exp_id] = self._store.get("experiment", exp_id) if isinstance(exp_id, int) else None
            if sample_id not in samples:
                samples[sample_id] = self._store.get("sample", sample_id) if isinstance(sample_id, int) else None
            out.append(
                {
                    "id": run.id,
                    "run_number": f["run_number"],
                    "run_alias": f.get("run_alias", ""),
                    "begin_at": f.get("begin_at"),
                    "end_at": f.get("end_at"),
                    "first_train": f.get("first_train"),
                    "last_train": f.get("last_train"),
                    "flg_status": f.get("flg_status"),
                    "flg_run_quality": f.get("flg_run_quality"),
                    "size": f.get("size"),
                    "num_files": num_files,
                    "experiment": {"id": exp_id, "name": _name(experiments[exp_id])},
                    "sample": {"id": sample_id, "name": _name(samples[sample_id])},
                    "repositories": repositories,
                }
            )
        p = proposal.fields
        return {"proposal": {"id": proposal.id, "number": p["number"], "title": p["title"]}, "runs": out}

    def _groups_of(self, run: FacilityRecord) -> list[FacilityRecord]:
        links = self._store.listed("runs_data_group", 0, f"run_id={run.id}")
        return self._store.get_many("data_group", [link.fields["data_group_id"] for link in links])

    def _files_of(self, group: FacilityRecord) -> list[FacilityRecord]:
        return self._store.listed("data_file", 0, f"data_group_id={group.id}")

    def raw_data_group_ids(self, user: User, proposal_number: int, run_number: int) -> list[int]:
        run = self.run(user, proposal_number, run_number)
        types: dict[Any, Any] = {t.id: t.fields.get("identifier") for t in self._store.all("data_group_type")}
        return [g.id for g in self._groups_of(run) if types.get(g.fields.get("data_group_type_id")) == RAW]

    def run_data_files(self, user: User, proposal_number: int, run_number: int) -> list[JSONObject]:
        run = self.run(user, proposal_number, run_number)
        return [self._service.view(d) for g in self._groups_of(run) for d in self._files_of(g)]


def _name(record: FacilityRecord | None) -> str | None:
    return None if record is None else record.fields.get("name")
