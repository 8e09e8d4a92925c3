"""A local stand-in of the InvenioRDM records API (what Zenodo serves), for ``make run`` and tests.

It answers the part of the REST API the harvest reads, as InvenioRDM shapes it:

* ``GET /api/records/{id}``: the record (``id``, ``pids.doi``, ``metadata``, ``files``,
  ``links``, ``created``/``updated``, ``stats``);
* ``GET /api/records/{id}/files``: ``{"enabled": true, "entries": [{"key", "size",
  "checksum": "md5:…", "links": {"content"}}]}``;
* ``GET /api/records/{id}/files/{key}/content``: a 302 to ``/files/{id}/{key}`` on the same
  host (as Zenodo redirects file content), which serves the bytes;
* ``GET /records/{id}``: the landing page a user copies the URL of (a small HTML page);
* 404 (InvenioRDM's JSON error) for any unknown record, file or path.

Records come from :func:`demo_records` (two records with a few small files) or a directory
(:func:`records_from_directory`: ``<dir>/<id>/record.json`` with ``metadata`` and optionally
``pids``, and the files under ``<dir>/<id>/files/``). ``redirects`` adds paths answered with a
302 to any location (tests use it to point a redirect somewhere the harvest must not go).
It binds 127.0.0.1 only; :meth:`InvenioStandIn.stop` stops it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from infra.local.serving import HOST, ServedInThread

CREATED = "2026-11-02T09:00:00.000000+00:00"


@dataclass(frozen=True)
class StandInRecord:
    """One record: its id, DOI, metadata (InvenioRDM's ``metadata`` object) and files (key → bytes)."""

    record_id: str
    metadata: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    doi: str | None = None
    # a wrong md5 for these keys (tests: a corrupted upstream file)
    bad_checksums: frozenset[str] = frozenset()


def demo_records() -> dict[str, StandInRecord]:
    """Two small records, as a new user harvests them on ``make run``."""
    soil = StandInRecord(
        "7hy2p-4x0c1",
        {
            "title": "Soil moisture at the Lindenberg plots, autumn 2026",
            "creators": [
                {"person_or_org": {"type": "personal", "name": "Weber, Anna", "family_name": "Weber"}},
                {"person_or_org": {"type": "organizational", "name": "Lindenberg Observatory"}},
            ],
            "publication_date": "2026-11-02",
            "description": "<p>Hourly volumetric soil moisture (TDR) at three depths, with the station log.</p>",
            "resource_type": {"id": "dataset", "title": {"en": "Dataset"}},
            "rights": [{"id": "cc-by-4.0"}],
        },
        {
            "moisture.csv": b"time,depth_cm,vwc\n2026-10-01T00:00Z,10,0.231\n2026-10-01T00:00Z,30,0.262\n",
            "station-log.txt": b"2026-10-03 probe 2 recalibrated\n",
            "README.md": b"# Soil moisture\n\nColumns: time (UTC), depth in cm, volumetric water content.\n",
        },
        doi="10.5072/zenodo.7001",
    )
    spectra = StandInRecord(
        "ka3f9-qq2m8",
        {
            "title": "Raman spectra of olivine grains",
            "creators": [{"person_or_org": {"type": "personal", "name": "Okafor, Chidi"}}],
            "publication_date": "2026-09-15",
            "description": "Raman spectra (532 nm) of twelve olivine grains.",
            "resource_type": {"id": "dataset"},
        },
        {"spectra.json": json.dumps({"grain-01": [1.0, 2.5, 3.1]}).encode(), "notes.txt": b"laser 532 nm, 10 mW\n"},
        doi="10.5072/zenodo.7002",
    )
    return {r.record_id: r for r in (soil, spectra)}


def records_from_directory(root: Path) -> dict[str, StandInRecord]:
    """Records from ``root/<id>/record.json`` (``{"metadata": …, "pids": {"doi": …}}``) and ``root/<id>/files/*``."""
    records = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        doc = json.loads((folder / "record.json").read_text())
        files_dir = folder / "files"
        files = (
            {f.name: f.read_bytes() for f in sorted(files_dir.iterdir()) if f.is_file()} if files_dir.is_dir() else {}
        )
        doi = ((doc.get("pids") or {}).get("doi") or {}).get("identifier")
        records[folder.name] = StandInRecord(folder.name, doc.get("metadata") or {}, files, doi)
    return records


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: InvenioStandIn


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        standin = self.server.standin
        path = urlsplit(self.path).path
        standin.requests.append(path)
        if path in standin.redirects:
            self._send(302, b"", "text/plain", {"Location": standin.redirects[path]})
            return
        parts = [unquote(p) for p in path.strip("/").split("/")]
        answer = standin.answer(parts)
        if answer is None:
            body = json.dumps({"status": 404, "message": "The persistent identifier does not exist."}).encode()
            self._send(404, body, "application/json")
            return
        self._send(*answer)

    def _send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


Answer = tuple[int, bytes, str, dict[str, str]]


class InvenioStandIn:
    """The stand-in server. ``port=0`` lets the OS pick (``base_url`` tells which)."""

    def __init__(
        self,
        records: Mapping[str, StandInRecord] | None = None,
        *,
        port: int = 0,
        redirects: Mapping[str, str] | None = None,
    ) -> None:
        self.records = dict(demo_records() if records is None else records)
        self.redirects = dict(redirects or {})
        self.requests: list[str] = []
        self._served: ServedInThread[_Server] = ServedInThread("the InvenioRDM stand-in", "", port)

    @property
    def port(self) -> int:
        return self._served.port

    @property
    def authority(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.authority}"

    def record_url(self, record_id: str) -> str:
        """The landing page's URL: what a user pastes into ``POST /harvests``."""
        return f"{self.base_url}/records/{record_id}"

    @property
    def environment(self) -> dict[str, str]:
        """The catalogue settings that allow harvesting from this stand-in (plain http, loopback)."""
        return {
            "CATALOGUE_HARVEST_HOSTS": self.authority,
            "CATALOGUE_HARVEST_PLAIN_HTTP_HOSTS": self.authority,
            "CATALOGUE_HARVEST_ALLOW_LOOPBACK": "1",
        }

    def start(self) -> InvenioStandIn:
        self._served.bind(_Server, _Handler).standin = self
        self._served.serve("invenio-standin")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._served.stop(timeout)

    def __enter__(self) -> InvenioStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the API ---------------------------------------------------------------------------
    def answer(self, parts: list[str]) -> Answer | None:
        if len(parts) >= 3 and parts[:2] == ["api", "records"] and parts[2] in self.records:
            record = self.records[parts[2]]
            rest = parts[3:]
            if not rest:
                return _json(record_json(record, self.base_url, len(self.requests)))
            if rest == ["files"]:
                return _json(files_json(record, self.base_url))
            if len(rest) == 3 and rest[0] == "files" and rest[2] == "content" and rest[1] in record.files:
                location = f"{self.base_url}/files/{record.record_id}/{quote(rest[1])}"
                return 302, b"", "text/plain", {"Location": location}
            return None
        if len(parts) == 3 and parts[0] == "files" and parts[1] in self.records:
            content = self.records[parts[1]].files.get(parts[2])
            return None if content is None else (200, content, "application/octet-stream", {})
        if len(parts) == 2 and parts[0] == "records" and parts[1] in self.records:
            title = self.records[parts[1]].metadata.get("title", "")
            page = f"<!doctype html><title>{title}</title><h1>{title}</h1>".encode()
            return 200, page, "text/html; charset=utf-8", {}
        return None


def files_json(record: StandInRecord, base_url: str) -> dict[str, Any]:
    """The record's ``GET /api/records/{id}/files`` answer, links under ``base_url``."""
    api = f"{base_url}/api/records/{record.record_id}"
    entries = []
    for key, content in sorted(record.files.items()):
        md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
        if key in record.bad_checksums:
            md5 = hashlib.md5(content + b"x", usedforsecurity=False).hexdigest()
        entries.append(
            {
                "key": key,
                "size": len(content),
                "checksum": f"md5:{md5}",
                "mimetype": "application/octet-stream",
                "status": "completed",
                "links": {"self": f"{api}/files/{quote(key)}", "content": f"{api}/files/{quote(key)}/content"},
            }
        )
    return {"enabled": True, "entries": entries, "links": {"self": f"{api}/files"}}


def record_json(record: StandInRecord, base_url: str, views: int = 0) -> dict[str, Any]:
    """The record's ``GET /api/records/{id}`` answer, links under ``base_url``."""
    api = f"{base_url}/api/records/{record.record_id}"
    doc: dict[str, Any] = {
        "id": record.record_id,
        "created": CREATED,
        "updated": CREATED,
        "metadata": record.metadata,
        "files": {
            "enabled": True,
            "count": len(record.files),
            "total_bytes": sum(len(c) for c in record.files.values()),
        },
        "links": {"self": api, "self_html": f"{base_url}/records/{record.record_id}", "files": f"{api}/files"},
        # changes with every visit upstream: the harvest leaves it out of the SIP
        "stats": {"this_version": {"views": views, "downloads": 0}},
    }
    if record.doi:
        doc["pids"] = {"doi": {"identifier": record.doi, "provider": "datacite"}}
        doc["doi"] = record.doi
    return doc


def _json(doc: Any) -> Answer:
    return 200, json.dumps(doc).encode(), "application/json", {}
