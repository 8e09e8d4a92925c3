"""What publishing a folder checks and makes: references resolved, catalogue datasets.

References (:class:`~chalicelib.submissions.types.Reference`) name another object by
``@refname`` (its alias, in the same folder) or ``@accession``: an accession id of ours must
name an object of the referenced type that exists; another accession (ENA's own, e.g.
``ERP000001``) is taken as a reference to a public ENA record and not checked.

A published study, sample or EGA dataset becomes a dataset of the catalogue under the base
URI :data:`BASE_URI` (``file://submissions/<accession>``), in the folder's project: searchable
by its title and fields, its metadata in the README and annotations, its changes in the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import yaml

from chalicelib.catalogue.validation import Registration
from chalicelib.domain import KIND_SUBMISSION, DatasetContent, User
from chalicelib.submissions.records import dataset_uuid, parse_accession
from chalicelib.submissions.types import ObjectType

BASE_URI = "file://submissions"
BASE_URI_DESCRIPTION = "Published metadata submissions (ENA studies, samples, datasets)"


def _at(obj: Any, path: Sequence[str]) -> list[Mapping[str, Any]]:
    """The elements at ``path`` of a stored object (lists flattened)."""
    found: list[Any] = [obj]
    for step in path:
        nxt: list[Any] = []
        for value in found:
            if isinstance(value, Mapping) and step in value:
                child = value[step]
                nxt.extend(child if isinstance(child, list) else [child])
        found = nxt
    return [f for f in found if isinstance(f, Mapping)]


def title_of(type_: ObjectType, content: Mapping[str, Any]) -> str:
    values = _at({"_": content}, ("_", *type_.title[:-1]))
    for value in values:
        title = value.get(type_.title[-1])
        if isinstance(title, str):
            return title
    return ""


def alias_of(content: Mapping[str, Any]) -> str:
    alias = content.get("@alias")
    return alias if isinstance(alias, str) else ""


def reference_problems(
    objects: Sequence[tuple[ObjectType, str, Mapping[str, Any]]],
    exists: Callable[[str], ObjectType | None],
) -> list[dict[str, str]]:
    """Every unresolved reference of ``objects`` (type, accession id, stored form), as
    problems whose path is ``<accession>/<element path>``; ``exists`` tells the type of an
    accession id of ours outside the folder (``None``: no such object)."""
    aliases: dict[tuple[str, str], str] = {}
    problems: list[dict[str, str]] = []
    for type_, accession, content in objects:
        alias = alias_of(content)
        if alias:
            if (type_.name, alias) in aliases:
                problems.append(
                    {"path": accession, "message": f"alias {alias!r} is also {aliases[(type_.name, alias)]}'s"}
                )
            aliases[(type_.name, alias)] = accession
    in_folder = {accession: type_ for type_, accession, _ in objects}
    for type_, accession, content in objects:
        for ref in type_.references:
            for element in _at(content, ref.path):
                where = f"{accession}/{'/'.join(ref.path)}"
                target = element.get("@accession")
                refname = element.get("@refname")
                if isinstance(target, str) and target:
                    if parse_accession(target) is None:
                        continue  # another archive's accession (ENA's own): not ours to check
                    found = in_folder.get(target) or exists(target)
                    if found is None or found.name != ref.target:
                        problems.append({"path": where, "message": f"no {ref.target} {target}"})
                elif isinstance(refname, str) and refname:
                    if (ref.target, refname) not in aliases:
                        problems.append({"path": where, "message": f"no {ref.target} with alias {refname!r} here"})
                elif "POOL" not in element:
                    problems.append({"path": where, "message": "names neither @accession nor @refname"})
    return problems


def dataset_content(
    type_: ObjectType,
    accession: str,
    content: Mapping[str, Any],
    *,
    folder: Mapping[str, Any],
    folder_id: str,
    owner: str,
    created_at: float,
    published_at: float,
    project: str,
) -> DatasetContent:
    """The catalogue's view of a published object."""
    title = title_of(type_, content)
    alias = alias_of(content)
    facts = {
        "accession": accession,
        "type": type_.name,
        "title": title,
        "alias": alias,
        "submission": folder.get("name", ""),
        "folder": folder_id,
    }
    readme = yaml.safe_dump({**facts, type_.element: content}, sort_keys=False, allow_unicode=True)
    return DatasetContent(
        uuid=dataset_uuid(accession),
        name=(alias or accession)[:256],
        creator_username=owner,
        created_at=created_at,
        frozen_at=published_at,
        readme=readme,
        annotations={"ena": facts},
        tags=("ena", type_.name),
        description=title,
        project=project,
        kind=KIND_SUBMISSION,
    )


class Catalogue(Protocol):
    """What publishing needs of the catalogue (wired by the composition root)."""

    def register(self, user: User, reg: Registration) -> Any: ...


class CatalogueBridge:
    """Published objects into the catalogue, as ``actor`` (a system principal acting for the
    publisher: registrations under :data:`BASE_URI` are the service's, not the user's)."""

    def __init__(
        self,
        catalogue: Catalogue,
        ensure_base_uri: Callable[[User, str, str], None],
        set_project_members: Callable[[User, str, frozenset[str]], None],
    ) -> None:
        self._catalogue = catalogue
        self._ensure_base_uri = ensure_base_uri
        self._set_members = set_project_members

    def publish(
        self, actor: User, contents: Iterable[DatasetContent], project: str, members: frozenset[str] | None
    ) -> None:
        """Register each of ``contents`` (idempotent: the same content again changes nothing);
        ``members``: the project's members to set first (``None``: a project of its own
        elsewhere, e.g. an order, whose members are kept)."""
        self._ensure_base_uri(actor, BASE_URI, BASE_URI_DESCRIPTION)
        if members is not None:
            self._set_members(actor, project, members)
        for content in contents:
            uri = f"{BASE_URI}/{content.annotations['ena']['accession']}"
            self._catalogue.register(actor, Registration(content=content, base_uri=BASE_URI, uri=uri))
