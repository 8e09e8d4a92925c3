"""Folder uploads: a local folder's files POSTed straight to S3 through the presigned form the
catalogue hands out (``POST /uploads``), the sidecar ``dataset.json`` last; its arrival makes
the folder a dataset (see :meth:`catalogue_client.Catalogue.upload_folder`).

Each file is one ``multipart/form-data`` POST, streamed from disk with a ``Content-Length``
(S3 takes no chunked POST): the form's fields, then ``key``, then the file, as S3 requires.
No other field is sent: S3 refuses a field its signed policy does not name.
"""

from __future__ import annotations

import json
import os
import re
import uuid as uuidlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import requests

from catalogue_client.errors import CatalogueError, Unavailable, error_for
from catalogue_client.models import UploadStart

if TYPE_CHECKING:
    from catalogue_client.client import Catalogue

SIDECAR = "dataset.json"
# the ingest reads these sidecars too: one beside ours would make two descriptions of a folder
OTHER_SIDECARS = frozenset({"dataset.yaml", "dataset.yml"})
_S3_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
_S3_MESSAGE = re.compile(rb"<Message>([^<]{1,500})</Message>")


class UploadRefused(ValueError):
    """The local folder cannot be uploaded as it is (nothing was sent): not a folder, a file
    larger than S3 takes in one POST, a sidecar that is not a JSON object, or a YAML sidecar."""


@dataclass(frozen=True)
class LocalFile:
    relpath: str  # relative to the folder, with '/'
    path: Path
    size: int


@dataclass(frozen=True)
class Progress:
    """Where an upload is: ``bytes_done`` of ``bytes_total`` (it goes back when a POST is
    repeated) and ``files_done`` of ``files_total`` (the sidecar included); ``current`` is the
    file being posted."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    current: str


def folder_files(folder: Path) -> list[LocalFile]:
    """Every regular file under ``folder`` in relative-path order; symbolic links (to files
    or folders) are skipped, never followed."""
    if not folder.is_dir():
        raise UploadRefused(f"{folder} is not a folder")
    found = []
    for top, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(top, d))]
        for name in names:
            path = Path(top) / name
            if path.is_symlink() or not path.is_file():
                continue
            found.append(LocalFile(path.relative_to(folder).as_posix(), path, path.stat().st_size))
    return sorted(found, key=lambda f: f.relpath)


def sidecar_for(files: list[LocalFile], fields: Mapping[str, Any]) -> tuple[list[LocalFile], dict[str, Any]]:
    """The files to post as items, and the sidecar: the folder's own ``dataset.json`` (taken
    out of the items) with ``fields`` (those not ``None``) over it."""
    sidecar: dict[str, Any] = {}
    items = []
    for f in files:
        if f.relpath in OTHER_SIDECARS:
            raise UploadRefused(f"{f.path}: the upload writes {SIDECAR}; move its fields there")
        if f.relpath != SIDECAR:
            items.append(f)
            continue
        try:
            sidecar = json.loads(f.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UploadRefused(f"{f.path}: not JSON ({exc})") from None
        if not isinstance(sidecar, dict):
            raise UploadRefused(f"{f.path}: must hold a JSON object")
    sidecar.update({k: v for k, v in fields.items() if v is not None})
    return items, sidecar


class FormBody:
    """A ``multipart/form-data`` body read from ``source`` as it is sent: the fields, then the
    file part. It has a length (so requests sends ``Content-Length``, never chunks) and calls
    ``on_read`` with the number of file bytes each read gives."""

    def __init__(
        self, fields: Mapping[str, str], source: Path | bytes, size: int, on_read: Callable[[int], None]
    ) -> None:
        boundary = uuidlib.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode() + b"\r\n"
            for name, value in fields.items()
        )
        # the file's own name is not sent: S3 names the object by the key field
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._head, self._tail = head, f"\r\n--{boundary}--\r\n".encode()
        self._source, self._size, self._on_read = source, size, on_read
        self._file: IO[bytes] | None = None
        self._left = size  # file bytes still to send
        self._stage = 0  # 0 head, 1 file, 2 tail, 3 done
        self.len = len(self._head) + size + len(self._tail)

    def __len__(self) -> int:
        return self.len

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1024 * 1024):
            yield chunk

    def read(self, size: int = -1) -> bytes:
        if self._stage == 0:
            self._stage = 1
            if isinstance(self._source, bytes):
                self._on_read(len(self._source))
                return self._head + self._source
            self._file = self._source.open("rb")
            return self._head
        if self._stage == 1 and self._file is not None:
            if self._left > 0:
                chunk = self._file.read(min(self._left, size if size and size > 0 else 1024 * 1024))
                if not chunk:  # the Content-Length sent would be a lie
                    raise UploadRefused(f"{self._file.name} shrank while it was uploaded")
                self._left -= len(chunk)
                self._on_read(len(chunk))
                return chunk
            self.close()  # a file that grew: what was there when it was listed
        if self._stage <= 2:
            self._stage = 3
            return self._tail
        return b""

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def post_file(
    catalogue: Catalogue,
    form: UploadStart,
    relpath: str,
    source: Path | bytes,
    size: int,
    on_read: Callable[[int], None],
) -> None:
    """POST one file through ``form`` under ``key_prefix + relpath``. A connection error, a
    timeout or a 5xx is tried again (``catalogue.retries`` times, with its backoff): posting
    one key again overwrites it, so a repeat is harmless. ``on_read`` hears of the bytes sent,
    and of those of a failed attempt taken back (negative)."""
    fields = {**form.fields, "key": form.key_prefix + relpath}
    attempt = 0
    while True:
        sent = [0]

        def count(n: int, sent: list[int] = sent) -> None:
            sent[0] += n
            on_read(n)

        body = FormBody(fields, source, size, count)
        try:
            # no credentials: the form is the permission (and S3 must not see the catalogue's token)
            response = catalogue.session.post(
                form.url, data=body, headers={"Content-Type": body.content_type}, timeout=catalogue.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            failure: CatalogueError = Unavailable(0, "Unreachable", f"POST {form.url} ({relpath}): {exc}")
        else:
            if response.status_code < 300:
                return
            failure = _s3_error(response, relpath)
            if response.status_code < 500:
                raise failure
        finally:
            body.close()
        on_read(-sent[0])
        if attempt >= catalogue.retries:
            raise failure
        catalogue.backoff_wait(attempt)
        attempt += 1


def _s3_error(response: requests.Response, relpath: str) -> CatalogueError:
    """S3's XML error as the client's exception (403: the form expired or was refused; 400:
    e.g. EntityTooLarge; 5xx: Unavailable)."""
    code = _S3_CODE.search(response.content or b"")
    message = _S3_MESSAGE.search(response.content or b"")
    body = {
        "Code": code.group(1).decode(errors="replace") if code else f"HTTP{response.status_code}",
        "Message": f"{relpath}: " + (message.group(1).decode(errors="replace") if message else response.reason or ""),
    }
    return error_for(response.status_code, body)


def upload(
    catalogue: Catalogue,
    folder: Path,
    base_uri: str,
    name: str,
    fields: Mapping[str, Any],
    progress: Callable[[Progress], None] | None = None,
) -> UploadStart:
    """Upload ``folder`` as the new folder ``name`` under ``base_uri``: every file, then the
    sidecar (``fields`` over the folder's own ``dataset.json``; ``creator`` defaults to you).
    Local problems raise :class:`UploadRefused` before anything is sent."""
    items, sidecar = sidecar_for(folder_files(folder), fields)
    form = catalogue.start_upload(base_uri, name)
    too_large = [f.relpath for f in items if f.size > form.max_bytes]
    if too_large:
        raise UploadRefused(f"larger than {form.max_bytes} bytes (one POST's limit): {', '.join(too_large[:5])}")
    sidecar.setdefault("creator", form.creator)
    sidecar_bytes = json.dumps(sidecar, indent=1, sort_keys=True).encode()
    state = Progress(0, len(items) + 1, 0, sum(f.size for f in items) + len(sidecar_bytes), "")

    def tell(**change: Any) -> None:
        nonlocal state
        state = Progress(**{**state.__dict__, **change})
        if progress is not None:
            progress(state)

    def sent(n: int) -> None:
        tell(bytes_done=state.bytes_done + n)

    for f in items:
        tell(current=f.relpath)
        post_file(catalogue, form, f.relpath, f.path, f.size, sent)
        tell(files_done=state.files_done + 1)
    # last: the sidecar's event registers the folder with every file already there
    tell(current=form.sidecar)
    post_file(catalogue, form, form.sidecar, sidecar_bytes, len(sidecar_bytes), sent)
    tell(files_done=state.files_done + 1)
    return form
