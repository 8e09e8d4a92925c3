"""Harvest an upstream record (InvenioRDM, Zenodo) into the archive: ``POST /harvests``.

The CERN OAIS platform's bagit-create job, here: the record's JSON and files are read through
the upstream REST API (:class:`~chalicelib.adapters.upstream.Upstream`: allow-listed hosts, no
internal addresses, redirects re-checked, capped and streamed), every file is checked against
the record's md5 while its sha256 and sha512 are computed, and a BagIt 1.0 bag is written::

    bagit.txt
    bag-info.txt            Source-Organization (the host), External-Identifier (the dataset
                            uuid, then the DOI and the record's URL), Title, Contact-Name,
                            External-Description, Payload-Oxum, Harvested-From …
    manifest-sha256.txt, manifest-sha512.txt, tagmanifest-sha256.txt
    data/content/<key>      the record's files, as upstream names them
    data/meta/upstream-record.json   the record (its ``stats``, which change with every visit, left out)
    data/meta/upstream-files.json    the file listing, md5s included

The metadata is payload, not a tag directory, so that it is kept in the AIP with the files.
The bag is stored as a zip under the deposit base URI (``harvests/<host>/<record id>.zip``)
and deposited through the deposit's own path: the ingest service registers it (checking it
as it checks any deposit) and the archive service archives it; the answer names the archive,
whose steps ``GET /archives/{id}`` shows.

Who may harvest: whoever may deposit (register permission on the deposit base URI), or an
admin. The same record harvested again is fetched again: unchanged, it is the same dataset
version and the same archive (:class:`ArchiveExists`, 409 with its id); changed upstream, it
is a new version of the same dataset (its uuid comes from the record's URL) and a new archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import tempfile
import unicodedata
import uuid as uuidlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from chalicelib.adapters.object_storage import ObjectStorage
from chalicelib.adapters.upstream import HarvestRefused, Upstream, UpstreamNotFound
from chalicelib.adapters.upstream import UpstreamUnavailable as UpstreamDown
from chalicelib.archive.archives import ArchiveService
from chalicelib.domain import JSONObject, User
from chalicelib.errors import ArchiveExists, Conflict, Forbidden, UpstreamUnavailable, ValidationError
from chalicelib.identity import permissions as perm
from chalicelib.ingest.bags.paths import path_problem
from chalicelib.ingest.events import ObjectEvent
from chalicelib.ingest.ingestion import IngestService, ingest_user

log = logging.getLogger(__name__)

# the record URL a user pastes (…/records/{id}, Zenodo's older …/record/{id}) or the API's
RECORD_PATH = re.compile(r"/(?:api/)?records?/([A-Za-z0-9][A-Za-z0-9_-]{0,63})/?")
MD5 = re.compile(r"md5:([0-9a-f]{32})")
MAX_SOURCE_CHARS = 2048
MAX_KEY_BYTES = 255
MAX_INFO_BYTES = 2000  # one bag-info value (the ingest's line cap is 4096 bytes)
REFUSED = "the source cannot be harvested"  # every refusal of a source says so (x-refusals)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed time: the same record gives the same zip
REGISTERED = ("created", "updated", "replica-added", "unchanged")


@dataclass(frozen=True)
class HarvestLimits:
    """Caps of one harvest: a JSON document, a file, the record's files together, their number."""

    max_json_bytes: int = 2 * 1024**2
    max_file_bytes: int = 64 * 1024**2
    max_record_bytes: int = 64 * 1024**2
    max_files: int = 100


@dataclass(frozen=True)
class Source:
    """A record upstream: where its API is, and the URL it is known by."""

    scheme: str
    authority: str
    record_id: str

    @property
    def api(self) -> str:
        return f"{self.scheme}://{self.authority}/api/records/{self.record_id}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.authority}/records/{self.record_id}"

    @property
    def dataset_uuid(self) -> str:
        """The catalogue uuid of the record's dataset: the same for every harvest of it."""
        return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, self.url))


@dataclass(frozen=True)
class UpstreamFile:
    key: str
    size: int
    md5: str


def refused(reason: str) -> ValidationError:
    return ValidationError(f"{REFUSED}: {reason}", field="source")


def parse_source(value: object) -> Source:
    """The record a ``{"source": "<record URL>"}`` body names (its form only: no lookup here;
    the host is checked against the allow-list by the upstream adapter before any request)."""
    source = value.get("source") if isinstance(value, dict) else None
    if not isinstance(source, str) or not source or len(source) > MAX_SOURCE_CHARS:
        raise refused('give the record\'s URL as {"source": "https://zenodo.org/records/<id>"}')
    try:
        parts = urlsplit(source.strip())
        port = parts.port
    except ValueError as exc:
        raise refused("not a URL") from exc
    host = (parts.hostname or "").lower()
    match = RECORD_PATH.fullmatch(parts.path)
    if parts.scheme.lower() not in ("https", "http") or not host or "@" in parts.netloc or match is None:
        raise refused("expected an InvenioRDM or Zenodo record URL: https://<host>/records/<id>")
    scheme = parts.scheme.lower()
    default = 443 if scheme == "https" else 80
    authority = host if port in (None, default) else f"{host}:{port}"
    return Source(scheme, authority, match.group(1))


def _key_problem(key: str) -> str | None:
    if "/" in key or "%" in key or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return "names with '/', '%' or over 255 bytes are not harvested"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in key):
        return "has control or format characters"
    if unicodedata.normalize("NFC", key) != key:
        return "is not in Unicode NFC"
    return path_problem(key)


def parse_files(listing: object, limits: HarvestLimits) -> list[UpstreamFile]:
    """The entries of ``GET /api/records/{id}/files``, checked: safe names, sizes, md5s, caps."""
    entries = listing.get("entries") if isinstance(listing, dict) else None
    if not isinstance(entries, list):
        raise refused("the record's file listing has no entries")
    if len(entries) > limits.max_files:
        raise refused(f"the record has {len(entries)} files; at most {limits.max_files} are harvested")
    files: list[UpstreamFile] = []
    seen: set[str] = set()
    for entry in entries:
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str):
            raise refused("a file of the record has no name")
        problem = _key_problem(key)
        if problem is not None:
            raise refused(f"file {key[:80]!r} {problem}")
        if key.casefold() in seen:
            raise refused(f"file {key[:80]!r} is listed twice (names are compared without case)")
        seen.add(key.casefold())
        size, checksum = entry.get("size"), entry.get("checksum")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise refused(f"file {key!r} has no size")
        found = MD5.fullmatch(checksum) if isinstance(checksum, str) else None
        if found is None:
            raise refused(f"file {key!r} has no md5 checksum to check it against")
        if size > limits.max_file_bytes:
            raise refused(f"file {key!r} is {size} bytes; at most {limits.max_file_bytes} per file are harvested")
        files.append(UpstreamFile(key, size, found.group(1)))
    total = sum(f.size for f in files)
    if total > limits.max_record_bytes:
        raise refused(f"the record's files are {total} bytes; at most {limits.max_record_bytes} are harvested")
    return sorted(files, key=lambda f: f.key)


@dataclass
class _Payload:
    """One payload file of the bag: where it is on disk, its path in the bag, its digests."""

    relpath: str
    path: Path
    size: int
    sha256: str
    sha512: str


class HarvestService:
    def __init__(
        self,
        upstream: Upstream,
        store: ObjectStorage,
        ingest: IngestService,
        archives: ArchiveService,
        deposit_base_uri: str,
        limits: HarvestLimits = HarvestLimits(),
        tmp_root: str | None = None,
    ) -> None:
        self._upstream = upstream
        self._store = store
        self._ingest = ingest
        self._archives = archives
        self._deposit_base_uri = deposit_base_uri
        self._limits = limits
        self._tmp_root = tmp_root

    def harvest(self, user: User, body: Callable[[], object]) -> JSONObject:
        """Harvest the record ``body`` names (``{"source": url}``; read once the user may
        harvest) into a deposited SIP and start its archive.

        Raises Forbidden, ValidationError (the source: its form, the policy, the record, a
        checksum), UpstreamUnavailable, ArchiveExists (the same record, unchanged)."""
        if not self._deposit_base_uri:
            raise Conflict("deposits are not configured")
        if not perm.may_harvest(user, self._deposit_base_uri):
            raise Forbidden(f"harvesting needs register permission on {self._deposit_base_uri}")
        source = parse_source(body())
        with tempfile.TemporaryDirectory(prefix="harvest-", dir=self._tmp_root) as tmp:
            record, listing, payload = self._fetch(source, Path(tmp))
            bag = Path(tmp) / "bag.zip"
            write_bag(bag, bag_info(source, record), payload)
            bucket, _, prefix = self._deposit_base_uri.removeprefix("s3://").partition("/")
            host = source.authority.replace(":", "_")
            key = f"{prefix + '/' if prefix else ''}harvests/{host}/{source.record_id}.zip"
            before = self._store.head(bucket, key)
            etag = self._store.put_file(bucket, key, bag)
            size = bag.stat().st_size
        log.info("harvest: %s by %s → s3://%s/%s", source.url, user.username, bucket, key)
        unchanged = before is not None and before.etag == etag
        archive_id, status = self._deposit(bucket, key, etag, size)
        if unchanged and archive_id is not None:
            raise ArchiveExists(f"{source.url} is harvested and archived already, unchanged: {archive_id}", archive_id)
        return {
            "source": source.url,
            "record": source.record_id,
            "doi": _doi(record),
            "title": _title(record),
            "dataset": source.dataset_uuid,
            "deposit_uri": f"s3://{bucket}/{key}",
            "files": len(listing),
            "bytes": sum(p.size for p in payload if p.relpath.startswith("data/content/")),
            "deposit": status,
            "archive": archive_id,
        }

    # -- fetching ----------------------------------------------------------------------------
    def _fetch(self, source: Source, tmp: Path) -> tuple[JSONObject, list[UpstreamFile], list[_Payload]]:
        limits = self._limits
        try:
            record = self._upstream.get_json(source.api, limits.max_json_bytes)
            if not isinstance(record, dict) or str(record.get("id")) != source.record_id:
                raise refused(f"{source.api} did not answer the record {source.record_id}")
            files_on = (record.get("files") or {}).get("enabled", True) is not False
            listing_doc: object = {"entries": []}
            if files_on:
                listing_doc = self._upstream.get_json(f"{source.api}/files", limits.max_json_bytes)
            listing = parse_files(listing_doc, limits)
            payload = [self._download(source, f, tmp / f"file-{n}") for n, f in enumerate(listing)]
        except HarvestRefused as exc:
            raise refused(str(exc)) from exc
        except UpstreamNotFound as exc:
            raise refused(f"no such record or file upstream ({exc})") from exc
        except UpstreamDown as exc:
            raise UpstreamUnavailable(f"{source.authority}: {exc}") from exc
        kept = {k: v for k, v in record.items() if k != "stats"}
        meta = [
            ("data/meta/upstream-record.json", kept),
            ("data/meta/upstream-files.json", listing_doc),
        ]
        for n, (relpath, doc) in enumerate(meta):
            path = tmp / f"meta-{n}"
            path.write_bytes(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False).encode())
            payload.append(_digested(relpath, path))
        return record, listing, payload

    def _download(self, source: Source, file: UpstreamFile, path: Path) -> _Payload:
        url = f"{source.api}/files/{quote(file.key, safe='')}/content"
        md5 = hashlib.md5(usedforsecurity=False)
        sha256, sha512 = hashlib.sha256(), hashlib.sha512()
        with path.open("wb") as out:

            def sink(chunk: bytes) -> None:
                for h in (md5, sha256, sha512):
                    h.update(chunk)
                out.write(chunk)

            # the record's size is the cap: a body longer than announced is not read on
            size = self._upstream.download(url, sink, file.size)
        if size != file.size:
            raise refused(f"file {file.key!r} is {size} bytes, the record says {file.size}; nothing was deposited")
        if md5.hexdigest() != file.md5:
            raise refused(f"file {file.key!r} does not match the record's md5 checksum; nothing was deposited")
        return _Payload(f"data/content/{file.key}", path, size, sha256.hexdigest(), sha512.hexdigest())

    # -- depositing --------------------------------------------------------------------------
    def _deposit(self, bucket: str, key: str, etag: str, size: int) -> tuple[str | None, str]:
        """Register the deposited bag as its S3 event will (the same ingest, so the event
        finds it done) and archive it; the archive's id (None while ingest cannot tell yet)
        and the ingest's outcome."""
        outcome = self._ingest.handle(ObjectEvent(bucket, key, "created", etag=etag, size=size))
        actor = ingest_user(self._deposit_base_uri)
        if outcome.status in REGISTERED:
            return self._archives.deposit_registered(actor, outcome.uuid), outcome.status
        if outcome.status == "rejected" and outcome.uuid:
            reasons = tuple(outcome.reason.split("; "))
            uri = outcome.uri
            return self._archives.deposit_refused(actor, outcome.uuid, uri, self._deposit_base_uri, reasons), "rejected"
        return None, outcome.status


def _digested(relpath: str, path: Path) -> _Payload:
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    data = path.read_bytes()
    sha256.update(data)
    sha512.update(data)
    return _Payload(relpath, path, len(data), sha256.hexdigest(), sha512.hexdigest())


def _metadata(record: JSONObject) -> dict[str, Any]:
    meta = record.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _title(record: JSONObject) -> str:
    title = _metadata(record).get("title")
    return _one_line(title) if isinstance(title, str) else ""


def _doi(record: JSONObject) -> str | None:
    pids = record.get("pids")
    doi = ((pids or {}).get("doi") or {}).get("identifier") if isinstance(pids, dict) else None
    if not isinstance(doi, str):
        doi = record.get("doi") if isinstance(record.get("doi"), str) else None
    return _one_line(doi, 256) if doi else None


def _creators(record: JSONObject) -> str:
    names = []
    for creator in _metadata(record).get("creators") or []:
        who = creator.get("person_or_org") if isinstance(creator, dict) else None
        name = who.get("name") if isinstance(who, dict) else None
        if isinstance(name, str) and name.strip():
            names.append(name)
    return _one_line("; ".join(names))


_TAG = re.compile(r"<[^>]{0,2000}>")


def _one_line(text: str, max_bytes: int = MAX_INFO_BYTES) -> str:
    """``text`` as one bag-info value: markup dropped, whitespace and control characters
    collapsed, at most ``max_bytes`` of UTF-8."""
    flat = " ".join("".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in _TAG.sub(" ", text)).split())
    encoded = flat.encode("utf-8", "ignore")[:max_bytes]
    return encoded.decode("utf-8", "ignore")


def bag_info(source: Source, record: JSONObject) -> list[tuple[str, str]]:
    """The bag-info.txt elements of a harvested record (Payload-Oxum is added when written).
    The first External-Identifier is the dataset's uuid (the ingest registers the bag under it)."""
    meta = _metadata(record)
    doi = _doi(record)
    info = [
        ("Source-Organization", source.authority),
        ("External-Identifier", source.dataset_uuid),
        *([("External-Identifier", f"doi:{doi}")] if doi else []),
        ("External-Identifier", source.url),
        ("Title", _title(record) or f"{source.authority} record {source.record_id}"),
    ]
    creators = _creators(record)
    if creators:
        info.append(("Contact-Name", creators))
    description = meta.get("description")
    if isinstance(description, str) and _one_line(description):
        info.append(("External-Description", _one_line(description)))
    published = meta.get("publication_date")
    if isinstance(published, str) and _one_line(published, 64):
        info.append(("Upstream-Publication-Date", _one_line(published, 64)))
    info += [
        ("Harvested-From", source.api),
        ("Upstream-Record-Id", source.record_id),
        ("Bag-Software-Agent", "research-data-catalogue harvest (POST /harvests)"),
    ]
    return info


def write_bag(path: Path, info: list[tuple[str, str]], payload: list[_Payload]) -> None:
    """A BagIt 1.0 bag of ``payload`` as a zip at ``path``: stored, not deflated (nothing
    for the ingest's compression-ratio check to weigh), entries sorted, times fixed."""
    payload = sorted(payload, key=lambda p: p.relpath)
    oxum = f"{sum(p.size for p in payload)}.{len(payload)}"
    tags = {
        "bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": "".join(f"{label}: {value}\n" for label, value in [*info, ("Payload-Oxum", oxum)]),
        "manifest-sha256.txt": "".join(f"{p.sha256}  {p.relpath}\n" for p in payload),
        "manifest-sha512.txt": "".join(f"{p.sha512}  {p.relpath}\n" for p in payload),
    }
    tags["tagmanifest-sha256.txt"] = "".join(
        f"{hashlib.sha256(text.encode()).hexdigest()}  {name}\n" for name, text in sorted(tags.items())
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as bag:
        for name, text in sorted(tags.items()):
            _add(bag, name, io.BytesIO(text.encode()))
        for p in payload:
            with p.path.open("rb") as data:
                _add(bag, p.relpath, data)


def _add(bag: zipfile.ZipFile, name: str, data: io.BufferedIOBase | io.BytesIO) -> None:
    entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    entry.external_attr = 0o644 << 16
    with bag.open(entry, "w") as out:
        while chunk := data.read(1024 * 1024):
            out.write(chunk)
