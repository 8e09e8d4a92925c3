"""Who may read and change facility records: pure predicates, no I/O.

- Reference data (instruments, cycles, techniques, types, repositories) is read by every
  signed-in user and changed by admins only.
- A proposal and everything in it (experiments, samples, runs, data groups, files,
  replicas) is read by admins, by the proposal's members, and by its **DAQ**: whoever may
  register on the base URI of the repository of the proposal's instrument (the right an
  admin grants a facility's service principal, e.g. ``xfel-daq``). Only admins and the DAQ
  change it. Whoever may not read a proposal learns nothing about it: 404, as if absent.
- Proposals themselves are created and changed by admins only.
"""

from __future__ import annotations

from collections.abc import Collection

from chalicelib.domain import User
from chalicelib.identity.permissions import is_admin, may_register, may_register_somewhere


def may_read_proposal(user: User, members: Collection[str], daq_base_uri: str | None) -> bool:
    if is_admin(user) or user.username in members:
        return True
    return daq_base_uri is not None and may_register(user, daq_base_uri)


def may_write_proposal(user: User, daq_base_uri: str | None) -> bool:
    return is_admin(user) or (daq_base_uri is not None and may_register(user, daq_base_uri))


def may_write_facility_somewhere(user: User) -> bool:
    """The right every facility write needs whatever its input (checked before the body is read)."""
    return may_register_somewhere(user)


def may_write_reference(user: User) -> bool:
    return is_admin(user)
