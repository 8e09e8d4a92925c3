"""An accepted bag's :class:`BagInfo` turned into a catalogue :class:`Registration`, the
placeholder registration naming a bag that could not be registered, and the uuid a bag is
registered under."""

from __future__ import annotations

import hashlib
import re
import uuid as uuidlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import yaml

from chalicelib.catalogue.validation import Registration, parse_registration
from chalicelib.domain import KIND_BAG, DatasetContent, Manifest
from chalicelib.errors import ValidationError
from chalicelib.ingest.bags.bag_info import BagInfo
from chalicelib.ingest.bags.targets import BagTarget
from chalicelib.ingest.layouts import LayoutError, problem_placeholder

UUID_IN_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def bag_uuid(uri: str) -> str:
    """The uuid a bag at ``uri`` is registered under when its External-Identifier holds none."""
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, uri))


def placeholder(target: BagTarget, base_uri: str) -> Registration:
    """A minimal registration naming an upload that could not be registered (for its status)."""
    reg = problem_placeholder(bag_uuid(target.uri), target.name, target.uri, base_uri, ("bagit",))
    return replace(reg, content=replace(reg.content, manifest=Manifest(hash_function="sha256")))


def bag_registration(info: BagInfo, target: BagTarget, base_uri: str, frozen_at: float) -> Registration:
    """The registration of the accepted bag ``target`` (``frozen_at``: its newest object's time).

    Raises LayoutError when the result is not a valid registration.
    """
    found = UUID_IN_TEXT.search(info.external_identifier or "")
    uuid = found.group(0).lower() if found else bag_uuid(target.uri)
    algorithm = "sha512" if all(i.sha512 for i in info.items) and not all(i.sha256 for i in info.items) else "sha256"
    items: dict[str, Any] = {
        hashlib.sha1(i.relpath.encode()).hexdigest(): {
            "relpath": i.relpath,
            "size_in_bytes": i.size,
            "hash": (i.sha512 if algorithm == "sha512" else i.sha256) or "",
            "utc_timestamp": frozen_at,
        }
        for i in info.items
    }
    body = {
        "uuid": uuid,
        "base_uri": base_uri,
        "uri": target.uri,
        "name": (info.title or target.name)[:256],
        "creator_username": (info.contact or "unknown")[:256],
        "frozen_at": frozen_at,
        "created_at": _date(info.bagging_date) or frozen_at,
        "readme": yaml.safe_dump(info.raw, allow_unicode=True, sort_keys=False),
        "description": (info.description or "")[:4096],
        "manifest": {"hash_function": algorithm, "items": items},
        "annotations": {"bag-info": info.raw, "payload-oxum": list(info.payload_oxum or ())},
        "tags": ["bagit"],
    }
    try:
        return parse_registration(body, KIND_BAG)
    except ValidationError as exc:
        raise LayoutError(f"{target.uri}: {exc} ({exc.field})") from exc


def _date(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.strip()[:10], "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def keep_times(registration: Registration, stored: DatasetContent) -> Registration:
    """``registration`` with the stored record's times when nothing but times differ.

    A bag's times come from S3 (when its objects were written), so uploading the same bag
    again would otherwise be a new version of the dataset (and a new archive of a deposit).
    """
    new = registration.content

    def untimed(c: DatasetContent) -> DatasetContent:
        items = {k: replace(v, utc_timestamp=0.0) for k, v in c.manifest.items.items()}
        return replace(c, created_at=0.0, frozen_at=0.0, manifest=replace(c.manifest, items=items))

    if untimed(new) != untimed(stored):
        return registration
    return replace(registration, content=stored)
