"""Facility records for the local stack: the fixture data metadata_client's own tests expect
(``docs/research/mymdc-client.md`` §4.3), and the demo data ``make run`` loads.

Both are written through the facility service as an admin, with myMdC's ids kept (the
client's tests name fixtures by negative ids), and both are idempotent: a record whose id
exists already is left as it is. The DAQ principal (``xfel-daq``, the client-credentials
app client) gets register and search permission on the repositories' base URIs, which
makes it the DAQ of every proposal on instruments whose repository is one of them.

``catalogue-admin xfel load --set tests`` (or ``--set demo``) loads them into a running stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.composition import Root
from chalicelib.domain import User
from chalicelib.errors import NotFound

Fixture = tuple[str, int, Mapping[str, Any]]  # (kind, id, attributes)

TEST_REPOSITORY = "XFEL_TESTS_REPO"
OFFLINE_REPOSITORY = "XFEL_GPFS_OFFLINE_RAW_CC"

DATA_GROUP_TYPES: list[Fixture] = [
    ("data_group_type", 1, {"name": "Raw", "identifier": "RAW", "flg_available": True, "description": ""}),
    ("data_group_type", 2, {"name": "Calibration", "identifier": "CAL", "description": ""}),
    ("data_group_type", 3, {"name": "Processed", "identifier": "PROC", "description": ""}),
    ("data_group_type", 4, {"name": "Reduced", "identifier": "REDU", "description": ""}),
    ("data_group_type", 5, {"name": "Simulation", "identifier": "SIM", "description": ""}),
    ("data_group_type", 6, {"name": "Unknown", "identifier": "UNK", "description": ""}),
]

REFERENCE: list[Fixture] = [
    ("experiment_type", 1, {"name": "Standard", "identifier": "STD", "description": ""}),
    ("sample_type", 1, {"name": "Solid", "description": ""}),
    ("sample_type", 3, {"name": "Liquid jet", "description": ""}),
    ("instrument_cycle", -1, {"identifier": "200030", "begin_at": "2020-01-01T00:00:00.000+01:00"}),
    (
        "technique",
        -1,
        {
            "name": "Functional Tests Technique 01 (DO NOT CHANGE)",
            "identifier": "TECHNIQUE-TEST-1",
            "url": "https://in.xfel.eu/TECH1",
            "flg_xfel_available": True,
            "flg_available": True,
            "description": "Technique used by upex and metadata client library for functional tests.",
        },
    ),
    (
        "technique",
        -2,
        {
            "name": "Functional Tests Technique 02 (DO NOT CHANGE)",
            "identifier": "TECHNIQUE-TEST-2",
            "url": "https://in.xfel.eu/TECH2",
            "description": "Technique used by upex and metadata client library for functional tests.",
        },
    ),
    (
        "repository",
        -1,
        {"name": "XFEL Tests Repository", "identifier": TEST_REPOSITORY, "mount_point": "/webstorage/XFEL"},
    ),
    (
        "repository",
        11,
        {
            "name": "XFEL GPFS Offline RAW CC",
            "identifier": OFFLINE_REPOSITORY,
            "mount_point": "/gpfs/exfel/d/raw",
            "transfer_agent_identifier": "XFEL_GPFS_OFFLINE_RAW_CC_TA",
            "transfer_agent_server_url": "https://transfer.example.org/gpfs-offline",
        },
    ),
    ("instrument", 1, {"name": "SPB/SFX", "identifier": "SPB", "facility_id": 1, "repository_id": -1}),
    ("instrument", 2, {"name": "FXE", "identifier": "FXE", "facility_id": 1, "repository_id": -1}),
    (
        "instrument",
        -1,
        {
            "name": "Functional Tests Instrument (DO NOT CHANGE)",
            "identifier": "INST_T",
            "url": "https://in.xfel.eu/upex",
            "facility_id": 3,
            "topic_id": -1,
            "instrument_type_id": 1,
            "repository_id": -1,
            "flg_available": False,
            "description": "instrument used by upex and metadata client library for functional tests.",
        },
    ),
    ("instrument", -2, {"name": "Functional Tests Instrument 2", "identifier": "INST_U", "facility_id": 3}),
]

PROPOSALS: list[Fixture] = [
    (
        "proposal",
        -1,
        {
            "number": 0,
            "title": "Proposal Title 001",
            "url": "https://www.xfel.eu/proposal-000000",
            "instrument_id": 1,
            "instrument_cycle_id": -1,
            "begin_at": "2014-06-25T08:30:00.000+02:00",
            "end_at": "2030-06-25T08:30:00.000+02:00",
            "flg_proposal_system": "L",
            "flg_beamtime_status": "N",
        },
    ),
    (
        "proposal",
        -2,
        {
            "number": 900061,
            "title": "DO NOT DELETE - CONTROLS TEST PROPOSAL 900061",
            "abstract": "",
            "url": "https://www.xfel.eu/cas_robot_framework_test",
            "instrument_id": 1,
            "instrument_cycle_id": -1,
            "principal_investigator_id": -7,
            "main_proposer_id": -7,
            "begin_at": "2020-01-01T00:00:00.000+01:00",
            "end_at": "2030-12-31T23:59:59.000+01:00",
            "flg_proposal_system": "L",
            "flg_available": True,
            "flg_beamtime_status": "R",
            "doi": "10.0850/XFEL.EU-DATA-900061-00",
        },
    ),
    (
        "proposal",
        -3,
        {
            "number": 900966,
            "title": "DO NOT DELETE - FXE TEST PROPOSAL 900966",
            "url": "https://www.xfel.eu/proposal-900966",
            "instrument_id": 2,
            "instrument_cycle_id": -1,
            "begin_at": "2020-01-01T00:00:00.000+01:00",
            "flg_proposal_system": "L",
        },
    ),
]

IN_PROPOSALS: list[Fixture] = [
    (
        "experiment",
        -1,
        {
            "name": "TestExperiment DO NOT DELETE!",
            "experiment_number": 1,
            "experiment_type_id": 1,
            "proposal_id": -1,
            "flg_available": True,
            "publisher": "XFEL",
            "contributor": "XFEL",
            "description": "",
        },
    ),
    (
        "sample",
        -1,
        {
            "name": "TestSample DO NOT DELETE!",
            "proposal_id": -1,
            "sample_type_id": 1,
            "flg_available": True,
            "url": "https://www.google.com",
            "description": "",
        },
    ),
    (
        "run",
        -1,
        {
            "run_number": 1,
            "experiment_id": -1,
            "sample_id": -1,
            "begin_at": "2014-06-25T08:30:00.000+02:00",
            "end_at": "2014-06-25T09:30:00.000+02:00",
            "first_train": 1,
            "last_train": 1000,
            "flg_status": 2,
            "flg_run_quality": 1,
        },
    ),
    (
        "run",
        -2,
        {
            "run_number": 2,
            "experiment_id": -1,
            "sample_id": -1,
            "begin_at": "2014-06-25T10:30:00.000+02:00",
            "first_train": 1001,
            "flg_status": 1,
            "flg_run_quality": -1,
        },
    ),
    (
        "data_group",
        -1,
        {
            "name": "p000000_r0001_raw",
            "data_group_type_id": 1,
            "experiment_id": -1,
            "user_id": -1,
            "prefix_path": "/webstorage/XFEL/raw/p000000/r0001/",
            "runs_data_groups_attributes": [{"run_id": -1}],
        },
    ),
    (
        # proposal 900061's: experiment -1 must hold data group -1 alone (the client's tests
        # read their new data groups at positions 1 and 2 of its list)
        "experiment",
        -2,
        {"name": "ControlsTestExperiment", "experiment_number": 1, "experiment_type_id": 1, "proposal_id": -2},
    ),
    (
        "data_group",
        -2,
        {"data_group_type_id": 1, "experiment_id": -2, "user_id": -1, "prefix_path": "/webstorage/XFEL/raw/p900061/"},
    ),
    (
        "data_file",
        -1,
        {
            "data_group_id": -1,
            "files": "[{'filename': 'RAW-R0001-DA01-S00000.h5', 'relative_path': 'r0001/', 'size': 1048576}]",
        },
    ),
    ("data_group_repository", -1, {"data_group_id": -1, "repository_id": -1, "flg_available": True}),
]


def test_fixtures() -> list[Fixture]:
    """What ``metadata_client_test.py`` expects to find (and nothing it must not find)."""
    return [*DATA_GROUP_TYPES, *REFERENCE, *PROPOSALS, *IN_PROPOSALS]


def load(root: Root, operator: User, fixtures: Iterable[Fixture], daq_user: str | None) -> dict[str, int]:
    """Write ``fixtures`` (skipping ids that exist), then grant ``daq_user`` register and
    search on every repository's base URI. Returns how many records were created per kind."""
    facility = root.facility
    created: dict[str, int] = {}
    for kind, id, attributes in fixtures:
        if facility.record(kind, id) is not None:
            continue
        facility.create(operator, kind, attributes, id=id)
        created[kind] = created.get(kind, 0) + 1
    if daq_user is not None:
        grant_repositories(root, operator, daq_user)
    return created


def grant_repositories(root: Root, operator: User, username: str) -> None:
    """``username`` may register (and search) on every repository's base URI."""
    access = root.access
    for repo in root.facility.listing(operator, "repository", {}):
        base_uri = str(repo.fields["base_uri"])
        try:
            info = access.get_base_uri(operator, base_uri)
        except NotFound:
            continue
        searchers = frozenset({*info["users_with_search_permissions"], username})
        registrars = frozenset({*info["users_with_register_permissions"], username})
        access.set_permissions(operator, base_uri, searchers, registrars)


DEMO_PROPOSAL = 2012
DEMO_RUNS = 3
DEMO_INSTRUMENT = 1


def demo_fixtures() -> list[Fixture]:
    """The test fixtures, plus proposal 2012 taking beamtime on SPB now: an experiment, two
    samples, and runs 1 to 3, each with a RAW data group of files on the online repository
    (run 1 is on the offline repository too)."""
    proposal: Fixture = (
        "proposal",
        2012,
        {
            "number": DEMO_PROPOSAL,
            "title": "Serial femtosecond crystallography of photoactive yellow protein",
            "abstract": "Time-resolved SFX of PYP microcrystals in a liquid jet.",
            "url": "https://www.xfel.eu/proposal-002012",
            "instrument_id": DEMO_INSTRUMENT,
            "instrument_cycle_id": -1,
            "begin_at": "2026-11-30T08:00:00.000+01:00",
            "end_at": "2026-12-18T08:00:00.000+01:00",
            "beamtime_start_at": "2026-12-01T08:00:00.000+01:00",
            "beamtime_end_at": "2026-12-07T08:00:00.000+01:00",
            "flg_beamtime_status": "R",
            "flg_proposal_system": "U",
        },
    )
    records: list[Fixture] = [
        proposal,
        (
            "experiment",
            2012,
            {
                "name": "PYP pump-probe",
                "experiment_type_id": 1,
                "proposal_id": 2012,
                "publisher": "European XFEL",
                "contributor": "SPB/SFX",
            },
        ),
        ("sample", 2012, {"name": "PYP microcrystals, batch 7", "proposal_id": 2012, "sample_type_id": 3}),
        ("sample", 2013, {"name": "Buffer only (reference)", "proposal_id": 2012, "sample_type_id": 3}),
    ]
    for n in range(1, DEMO_RUNS + 1):
        run_id = 20120 + n
        records += [
            (
                "run",
                run_id,
                {
                    "run_number": n,
                    "experiment_id": 2012,
                    "sample_id": 2012 if n < 3 else 2013,
                    "begin_at": f"2026-12-0{n + 1}T10:00:00.000+01:00",
                    "end_at": f"2026-12-0{n + 1}T10:20:00.000+01:00",
                    "first_train": 1_000_000 * n,
                    "last_train": 1_000_000 * n + 12_000,
                    "flg_status": 2,
                    "flg_run_quality": 1,
                    "size": 3 * 2**30,
                },
            ),
            (
                "data_group",
                run_id,
                {
                    "name": f"p{DEMO_PROPOSAL:06d}_r{n:04d}_raw",
                    "data_group_type_id": 1,
                    "experiment_id": 2012,
                    "user_id": -1,
                    "prefix_path": f"/gpfs/exfel/exp/SPB/202601/p{DEMO_PROPOSAL:06d}/raw/r{n:04d}/",
                    "runs_data_groups_attributes": [{"run_id": run_id}],
                },
            ),
            (
                "data_file",
                run_id,
                {
                    "data_group_id": run_id,
                    "files": str(
                        [
                            {
                                "filename": f"RAW-R{n:04d}-AGIPD{m:02d}-S00000.h5",
                                "relative_path": f"r{n:04d}/",
                                "size": 2**30,
                            }
                            for m in range(3)
                        ]
                    ),
                },
            ),
            ("data_group_repository", run_id, {"data_group_id": run_id, "repository_id": -1, "flg_available": True}),
        ]
    records.append(
        ("data_group_repository", 20130, {"data_group_id": 20121, "repository_id": 11, "flg_available": True})
    )
    return [*test_fixtures(), *records]
