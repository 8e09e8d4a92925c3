"""The entity kinds of the facility domain, declared: fields, rules, uniqueness, list keys.

myMdC (a Rails app) validates like Rails does, and its client's tests compare the error
messages verbatim (``docs/research/mymdc-client.md`` §4): the messages below are Rails'
(``can't be blank``, ``is not a number``, ``is too short (minimum is 2 characters)``,
``has already been taken``, ``cannot be updated``). Framework-free: no AWS, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

INT = "int"
STR = "str"
BOOL = "bool"
DATETIME = "datetime"


@dataclass(frozen=True)
class Field:
    """One attribute a client sends and reads.

    ``blank`` is what an absent, ``null`` or ``""`` value is stored as (``None``, or ``""``
    for text myMdC never leaves null); ``required`` rejects that with ``can't be blank``.
    ``immutable`` fields cannot change once created (``also_reports`` names derived fields
    whose change is reported with them, e.g. ``run_folder`` with ``run_number``).
    """

    name: str
    type: str = STR
    required: bool = False
    immutable: bool = False
    max_len: int | None = None
    min_len: int | None = None
    choices: tuple[Any, ...] | None = None
    default: Any = None
    blank: Any = None
    also_reports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unique:
    """A uniqueness rule over ``fields`` (stored values, derived ones included); a second
    record with the same values gets ``errors`` (field -> messages, in this order)."""

    name: str
    fields: tuple[str, ...]
    errors: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Kind:
    """An entity kind: ``name`` is myMdC's model (the body's wrapper key, ``"run"``),
    ``path`` its collection in URLs (``"runs"``)."""

    name: str
    path: str
    fields: tuple[Field, ...]
    uniques: tuple[Unique, ...] = ()
    # the field each list slot is keyed on (FacilityStore.listed); None: slot unused
    lists: tuple[str | None, str | None] = (None, None)
    # query parameters a list call may filter on (exact match on the stored value)
    filters: tuple[str, ...] = ()
    # fields stored but computed by the service (never taken from a client)
    derived: tuple[str, ...] = ()
    # the kind's records belong to a proposal (read by its members, written by its DAQ)
    in_proposal: bool = False

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


TAKEN = ("has already been taken",)


def _taken(*names: str) -> dict[str, tuple[str, ...]]:
    return dict.fromkeys(names, TAKEN)


INSTRUMENT = Kind(
    "instrument",
    "instruments",
    (
        Field("name", required=True, max_len=60),
        Field("identifier", required=True, max_len=60),
        Field("url", blank=""),
        Field("facility_id", INT),
        Field("topic_id", INT),
        Field("instrument_type_id", INT),
        Field("repository_id", INT),
        Field("instrument_leader_id", INT),
        Field("deputy_instrument_leader_id", INT),
        Field("dsg_host", blank=""),
        Field("system_user", blank=""),
        Field("flg_online_resource", BOOL, default=False),
        Field("online_script", blank=""),
        Field("doi", blank=""),
        Field("flg_available", BOOL, default=True),
        Field("description", blank=""),
    ),
    uniques=(Unique("identifier", ("identifier",), _taken("identifier")),),
    lists=("facility_id", "topic_id"),
    filters=("identifier", "facility_id", "topic_id", "name"),
)

INSTRUMENT_CYCLE = Kind(
    "instrument_cycle",
    "instrument_cycles",
    (
        Field("identifier", required=True, max_len=60),
        Field("url", blank=""),
        Field("instrument_id", INT),
        Field("instrument_identifier", blank=""),
        Field("begin_at", DATETIME),
        Field("end_at", DATETIME),
        Field("start_call_at", DATETIME),
        Field("close_call_at", DATETIME),
        Field("flg_proposal_system", blank=""),
        Field("flg_available", BOOL, default=True),
        Field("description", blank=""),
    ),
    uniques=(
        Unique("identifier", ("identifier",), _taken("identifier")),
        Unique("url", ("url",), _taken("url")),
        Unique("instrument", ("instrument_id", "identifier"), _taken("instrument_id")),
    ),
    filters=("identifier", "instrument_id"),
)

TECHNIQUE = Kind(
    "technique",
    "techniques",
    (
        Field("name", required=True, max_len=80),
        Field("identifier", required=True, max_len=80),
        Field("url", blank=""),
        Field("flg_xfel_available", BOOL, default=True),
        Field("flg_available", BOOL, default=True),
        Field("description", blank=""),
    ),
    uniques=(
        Unique("name", ("name",), _taken("name")),
        Unique("identifier", ("identifier",), _taken("identifier")),
    ),
    filters=("name", "identifier"),
)

EXPERIMENT_TYPE = Kind(
    "experiment_type",
    "experiment_types",
    (
        Field("name", required=True, max_len=60),
        Field("identifier", blank=""),
        Field("flg_available", BOOL, default=True),
        Field("description", blank=""),
    ),
    uniques=(
        Unique("identifier", ("identifier",), _taken("identifier")),
        Unique("name", ("name",), _taken("name")),
    ),
    filters=("name", "identifier"),
)

SAMPLE_TYPE = Kind(
    "sample_type",
    "sample_types",
    (
        Field("name", required=True, max_len=60),
        Field("flg_available", BOOL, default=True),
        Field("description", blank=""),
    ),
    uniques=(Unique("name", ("name",), _taken("name")),),
    filters=("name",),
)

DATA_GROUP_TYPE = Kind(
    "data_group_type",
    "data_group_types",
    (
        Field("name", required=True, max_len=60),
        Field("identifier", required=True, max_len=60),
        Field("flg_available", BOOL, default=True),
        Field("description", blank=""),
    ),
    uniques=(
        Unique("identifier", ("identifier",), _taken("identifier")),
        Unique("name", ("name",), _taken("name")),
    ),
    filters=("name", "identifier"),
)

REPOSITORY = Kind(
    "repository",
    "repositories",
    (
        Field("name", required=True, max_len=60),
        Field("identifier", required=True, max_len=60),
        Field("img_url", blank=""),
        Field("mount_point", blank=""),
        Field("transfer_agent_identifier", blank=""),
        Field("transfer_agent_server_url", blank=""),
        Field("flg_context", choices=("Local", "Remote"), default="Local"),
        Field("flg_available", BOOL, default=True),
        Field("description", blank=""),
    ),
    uniques=(
        Unique("identifier", ("identifier",), _taken("identifier")),
        Unique("name", ("name",), _taken("name")),
        Unique("transfer_agent_identifier", ("transfer_agent_identifier",), _taken("transfer_agent_identifier")),
        Unique("transfer_agent_server_url", ("transfer_agent_server_url",), _taken("transfer_agent_server_url")),
        # the catalogue base URI made from the identifier (see facility.datasets.repository_base_uri)
        Unique("base_uri", ("base_uri",), _taken("identifier")),
    ),
    filters=("identifier", "name"),
    derived=("base_uri",),
)

PROPOSAL = Kind(
    "proposal",
    "proposals",
    (
        Field("number", INT, required=True, immutable=True),
        Field("title", required=True, immutable=True, max_len=512),
        Field("abstract", blank="", max_len=65536),
        Field("url", blank=""),
        Field("instrument_id", INT, required=True),
        Field("instrument_cycle_id", INT),
        Field("principal_investigator_id", INT),
        Field("main_proposer_id", INT),
        Field("local_contact_id", INT),
        Field("begin_at", DATETIME, required=True, immutable=True),
        Field("end_at", DATETIME),
        Field("release_at", DATETIME),
        Field("flg_beamtime_status", choices=("R", "T", "N"), default="N"),
        Field("beamtime_start_at", DATETIME),
        Field("beamtime_end_at", DATETIME),
        Field("flg_proposal_system", required=True, immutable=True, choices=("L", "U")),
        Field("flg_available", BOOL, default=True),
        Field("doi", blank=""),
        Field("description", blank=""),
    ),
    uniques=(
        # the folder and path are made from the number: myMdC names them taken too
        Unique("number", ("number",), _taken("def_proposal_path", "number", "proposal_folder")),
        Unique("url", ("url",), _taken("url")),
    ),
    lists=("instrument_id", None),
    filters=("number", "instrument_id"),
    # catalogue usernames who may read the proposal's records and search its datasets
    derived=("members",),
)

EXPERIMENT = Kind(
    "experiment",
    "experiments",
    (
        Field("name", required=True, max_len=60),
        Field("experiment_type_id", INT, required=True),
        Field("proposal_id", INT, required=True, immutable=True),
        Field("flg_available", BOOL, default=True),
        Field("publisher", blank=""),
        Field("contributor", blank=""),
        Field("description", blank=""),
    ),
    uniques=(Unique("name", ("proposal_id", "name"), _taken("name")),),
    lists=("proposal_id", None),
    filters=("proposal_id", "name"),
    derived=("experiment_number",),
    in_proposal=True,
)

SAMPLE = Kind(
    "sample",
    "samples",
    (
        Field("name", required=True, max_len=127),
        Field("url", blank=""),
        Field("sample_type_id", INT),
        Field("proposal_id", INT, required=True, immutable=True),
        Field("flg_proposal_system", blank=""),
        Field("proposal_system_id", blank="", max_len=19),
        Field("flg_available", BOOL, default=True),
        Field("description", blank=""),
    ),
    uniques=(
        Unique(
            "name",
            ("proposal_id", "flg_proposal_system", "proposal_system_id", "name"),
            _taken("name", "flg_proposal_system", "proposal_id", "proposal_system_id"),
        ),
    ),
    lists=("proposal_id", None),
    filters=("proposal_id", "name"),
    in_proposal=True,
)

RUN = Kind(
    "run",
    "runs",
    (
        Field("run_number", INT, required=True, immutable=True, also_reports=("run_folder",)),
        Field("run_alias", blank=""),
        Field("experiment_id", INT, required=True, immutable=True),
        Field("sample_id", INT),
        Field("begin_at", DATETIME, required=True),
        Field("end_at", DATETIME),
        Field("first_train", INT, required=True),
        Field("last_train", INT),
        Field("flg_available", BOOL, default=True),
        Field("flg_status", INT, choices=(-1, 0, 1, 2, 3), default=1),
        Field("flg_run_quality", INT, choices=(-1, 0, 1), default=-1),
        Field("original_format", blank=""),
        Field("system_msg", blank=""),
        Field("description", blank=""),
        Field("size", INT),
    ),
    uniques=(
        Unique(
            "run_number",
            ("proposal_id", "run_number"),
            {"experiment_id": TAKEN, "run_number": ("must be unique per proposal", *TAKEN)},
        ),
    ),
    lists=("proposal_id", "experiment_id"),
    filters=("run_number", "experiment_id"),
    derived=("proposal_id",),
    in_proposal=True,
)

RUN_TECHNIQUE = Kind(
    "runs_technique",
    "runs_techniques",
    (Field("run_id", INT, required=True), Field("technique_id", INT, required=True)),
    lists=("run_id", None),
    derived=("proposal_id",),
    in_proposal=True,
)

RUN_DATA_GROUP = Kind(
    "runs_data_group",
    "runs_data_groups",
    (Field("run_id", INT, required=True), Field("data_group_id", INT, required=True)),
    uniques=(Unique("link", ("run_id", "data_group_id"), _taken("data_group_id")),),
    lists=("run_id", "data_group_id"),
    derived=("proposal_id",),
    in_proposal=True,
)

DATA_GROUP = Kind(
    "data_group",
    "data_groups",
    (
        Field("name", blank="", immutable=True, max_len=60),
        Field("language", blank="", default="en"),
        Field("data_group_type_id", INT, required=True, immutable=True),
        Field("experiment_id", INT, required=True, immutable=True),
        Field("user_id", INT, required=True),
        Field("prefix_path", required=True, immutable=True, min_len=2, max_len=1024),
        Field("flg_available", BOOL, default=True),
        Field("flg_writing", BOOL, default=False),
        Field("flg_public", BOOL, default=False),
        Field("format", blank=""),
        Field("data_passport", blank=""),
        Field("removed_at", DATETIME),
        Field("description", blank=""),
    ),
    lists=("experiment_id", None),
    filters=("name", "experiment_id"),
    derived=("proposal_id",),
    in_proposal=True,
)

DATA_FILE = Kind(
    "data_file",
    "data_files",
    (
        Field("data_group_id", INT, required=True, immutable=True),
        # myMdC keeps the client's text verbatim (a Python repr of a list of dicts)
        Field("files", required=True, min_len=40, max_len=4 * 1024 * 1024),
    ),
    lists=("data_group_id", None),
    filters=("data_group_id",),
    derived=("proposal_id",),
    in_proposal=True,
)

DATA_GROUP_REPOSITORY = Kind(
    "data_group_repository",
    "data_groups_repositories",
    (
        Field("data_group_id", INT, required=True, immutable=True),
        Field("repository_id", INT, required=True, immutable=True),
        Field("flg_available", BOOL, default=True),
    ),
    uniques=(Unique("replica", ("data_group_id", "repository_id"), _taken("data_group_id", "repository_id")),),
    lists=("data_group_id", "repository_id"),
    filters=("data_group_id", "repository_id"),
    derived=("proposal_id",),
    in_proposal=True,
)

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        INSTRUMENT,
        INSTRUMENT_CYCLE,
        TECHNIQUE,
        EXPERIMENT_TYPE,
        SAMPLE_TYPE,
        DATA_GROUP_TYPE,
        REPOSITORY,
        PROPOSAL,
        EXPERIMENT,
        SAMPLE,
        RUN,
        RUN_TECHNIQUE,
        RUN_DATA_GROUP,
        DATA_GROUP,
        DATA_FILE,
        DATA_GROUP_REPOSITORY,
    )
}
BY_PATH: dict[str, Kind] = {k.path: k for k in KINDS.values()}
