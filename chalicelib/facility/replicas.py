"""A ``data_group_repository`` row says whether a data group is available in a repository;
the catalogue holds the fact (:mod:`chalicelib.facility.datasets`): making the row available
registers the data group's replica under the repository's base URI, making it unavailable (or
deleting it) removes that replica.

:func:`replica_change` checks everything that can refuse this and is known before the row
is written, so that a refusal (myMdC's answer, the same as the catalogue's) leaves nothing
behind: no row, no change of one, no audit entry, no catalogue replica. What is left to do
once the row is stored is a :class:`ReplicaChange`, which the facility service
(:mod:`chalicelib.facility.records`) applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityStore
from chalicelib.domain import User
from chalicelib.errors import Forbidden, InvalidRecord
from chalicelib.facility.datasets import replica_uri
from chalicelib.facility.nested_links import MUST_EXIST
from chalicelib.identity.permissions import may_register


@dataclass(frozen=True)
class ReplicaChange:
    """The checked change of the catalogue a ``data_group_repository`` row asks for: the
    replica of data group ``data_group_id`` (whose uuid is ``uuid``) under ``base_uri`` (its
    repository's) registered (``available``) or removed."""

    data_group_id: int
    uuid: str
    base_uri: str
    available: bool


def replica_change(store: FacilityStore, user: User, row: Mapping[str, Any], available: bool) -> ReplicaChange:
    """The change of the catalogue that a ``data_group_repository`` row holding ``row`` (its
    fields) and made ``available`` or not asks of ``user``, checked against ``store`` (nothing
    written), in the order the change itself would refuse it: the repository and the data
    group must exist (InvalidRecord), the replica's URI must be one (an S3 repository's
    ``prefix_path`` without ``..``: InvalidRecord), and ``user`` must have register permission
    on the repository's base URI (Forbidden, as the catalogue's)."""
    repository_id, data_group_id = row.get("repository_id"), row.get("data_group_id")
    repo = store.get("repository", repository_id) if isinstance(repository_id, int) else None
    if repo is None:
        raise InvalidRecord({"repository": MUST_EXIST})
    base_uri = str(repo.fields["base_uri"])
    group = store.get("data_group", data_group_id) if isinstance(data_group_id, int) else None
    if group is None:
        raise InvalidRecord({"data_group": MUST_EXIST})
    if available:
        replica_uri(base_uri, group.uuid, str(group.fields["prefix_path"]))  # where it would be registered
    if not may_register(user, base_uri):
        raise Forbidden(f"no register permission on {base_uri}")
    return ReplicaChange(group.id, group.uuid, base_uri, available)
