"""An in-memory :class:`~chalicelib.adapters.object_storage.ObjectStorage` for tests and benchmarks.

Passes the same contract suite as the S3 adapter (``tests/contract/test_object_storage_contract.py``).
Beyond the port it lets a test arrange what S3 would hold (``put`` with an ``mtime``,
:meth:`InMemoryObjectStorage.set_state` for archival storage classes and restores),
look inside (:meth:`~InMemoryObjectStorage.data`, :meth:`~InMemoryObjectStorage.keys`,
:meth:`~InMemoryObjectStorage.tags`), count what the code under test did
(``calls``, ``reads``, ``restores``, ``forms``, ``downloads``), upload through a form it handed
out as S3 would take the POST (:meth:`~InMemoryObjectStorage.post_form`) and fetch a download
link it handed out as S3 would answer the GET (:meth:`~InMemoryObjectStorage.open_link`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from chalicelib.adapters.object_storage import (
    CHUNK,
    COLD_TAG_KEY,
    COLD_TAG_VALUE,
    NEEDS_RESTORE,
    RESTORE_NONE,
    RESTORE_ONGOING,
    NeedsRestore,
    ObjectMeta,
    ObjectNotFound,
    ObjectStorage,
    SourceChanged,
    StoredObject,
    TooLarge,
    UploadForm,
    attachment,
    check_prefix,
)

DEFAULT_MTIME = 1.7e9  # every write without an explicit mtime gets this time


class LinkRefused(Exception):
    """A GET S3 would refuse: the link was not handed out (or was altered)."""


class FormRefused(Exception):
    """A POST S3 would refuse (403, or 400 ``EntityTooLarge``): the form is unknown or
    altered, the key lies outside its prefix, or the file is too large."""


@dataclass(frozen=True)
class FakeObject:
    data: bytes
    mtime: float = DEFAULT_MTIME
    storage_class: str = "STANDARD"
    restore: str = RESTORE_NONE
    tags: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    @property
    def etag(self) -> str:
        return hashlib.md5(self.data).hexdigest()

    def meta(self, key: str) -> ObjectMeta:
        return ObjectMeta(key=key, size=len(self.data), etag=self.etag, last_modified=self.mtime)


class InMemoryObjectStorage(ObjectStorage):
    """bucket → key → :class:`FakeObject`; the ETag is the md5 of the bytes (as S3's for a
    single-part upload), links are fake ``https://<bucket>.example/`` URLs and restores are
    recorded (and stay ongoing until :meth:`set_state` says otherwise).

    ``storage_class`` is the class copies are stored in, as for the S3 adapter;
    :meth:`with_storage_class` gives another view of the same buckets (the composition
    root's default storage and archive writer).
    """

    def __init__(self, storage_class: str = "STANDARD") -> None:
        if storage_class in NEEDS_RESTORE:
            raise ValueError(f"storage class {storage_class} needs a restore before any read")
        self.storage_class = storage_class
        self.buckets: dict[str, dict[str, FakeObject]] = {}
        self.restores: list[tuple[str, str, int, str]] = []  # (bucket, key, days, tier)
        self.calls: Counter[str] = Counter()  # port method name → number of calls
        self.reads: list[str] = []  # keys whose bytes were read (get_bytes, iter_chunks), in order
        # the forms handed out, by their "policy" field: (bucket, form)
        self.forms: dict[str, tuple[str, UploadForm]] = {}
        # the download links handed out: url -> (bucket, key, filename)
        self.downloads: dict[str, tuple[str, str, str]] = {}

    def with_storage_class(self, storage_class: str) -> InMemoryObjectStorage:
        """Another fake over the same buckets (and records) whose copies are ``storage_class``."""
        view = InMemoryObjectStorage(storage_class)
        view.buckets, view.restores, view.calls, view.reads = self.buckets, self.restores, self.calls, self.reads
        view.forms, view.downloads = self.forms, self.downloads
        return view

    # -- arranging and looking inside (not part of the port) --------------------------------
    def _found(self, bucket: str, key: str) -> FakeObject | None:
        return self.buckets.get(bucket, {}).get(key)

    def _store(self, bucket: str, key: str, obj: FakeObject) -> None:
        self.buckets.setdefault(bucket, {})[key] = obj

    def delete(self, bucket: str, key: str) -> None:
        self.buckets.get(bucket, {}).pop(key, None)

    def set_state(self, bucket: str, key: str, *, storage_class: str | None = None, restore: str | None = None) -> None:
        """Declare an existing object's storage class and/or restore state (as a lifecycle
        rule or a finished restore would change them)."""
        obj = self._found(bucket, key)
        if obj is None:
            raise ObjectNotFound(f"s3://{bucket}/{key}")
        self._store(
            bucket,
            key,
            replace(obj, storage_class=storage_class or obj.storage_class, restore=restore or obj.restore),
        )

    def data(self, bucket: str, key: str) -> bytes:
        obj = self._found(bucket, key)
        if obj is None:
            raise ObjectNotFound(f"s3://{bucket}/{key}")
        return obj.data

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(k for k in self.buckets.get(bucket, {}) if k.startswith(prefix))

    def tags(self, bucket: str, key: str) -> dict[str, str]:
        obj = self._found(bucket, key)
        if obj is None:
            raise ObjectNotFound(f"s3://{bucket}/{key}")
        return dict(obj.tags)

    def _readable(self, bucket: str, key: str) -> FakeObject | None:
        obj = self._found(bucket, key)
        if obj is not None and not StoredObject(key, 0, obj.storage_class, obj.restore).readable:
            raise NeedsRestore(f"s3://{bucket}/{key} needs a restore before it can be read")
        return obj

    # -- reading ---------------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectMeta | None:
        self.calls["head"] += 1
        obj = self._found(bucket, key)
        return None if obj is None else obj.meta(key)

    def get_bytes(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        self.calls["get_bytes"] += 1
        obj = self._readable(bucket, key)
        if obj is None:
            return None
        self.reads.append(key)
        if len(obj.data) > max_bytes:
            raise TooLarge(f"s3://{bucket}/{key} is larger than {max_bytes} bytes")
        return obj.data

    def iter_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        self.calls["iter_chunks"] += 1
        obj = self._readable(bucket, key)
        if obj is None:
            raise ObjectNotFound(f"s3://{bucket}/{key}")
        self.reads.append(key)
        for i in range(0, len(obj.data), CHUNK):
            yield obj.data[i : i + CHUNK]

    def list(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[ObjectMeta]:
        self.calls["list"] += 1
        for key, obj in sorted(self.buckets.get(bucket, {}).items()):
            if key.startswith(prefix) and key > start_after:
                yield obj.meta(key)

    def objects(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        self.calls["objects"] += 1
        for key, obj in sorted(self.buckets.get(bucket, {}).items()):
            if key.startswith(prefix):
                restore = obj.restore if obj.storage_class in NEEDS_RESTORE else RESTORE_NONE
                yield StoredObject(key, len(obj.data), obj.storage_class, restore)

    # -- links and restores ------------------------------------------------------------------
    def link(self, bucket: str, key: str, expires: int) -> str:
        self.calls["link"] += 1
        return f"https://{bucket}.example/{quote(key)}?get&expires={expires}"

    def download_link(self, bucket: str, key: str, expires: int, filename: str) -> str:
        self.calls["download_link"] += 1
        url = f"https://{bucket}.example/{quote(key)}?get&expires={expires}&filename={quote(filename, safe='')}"
        self.downloads[url] = (bucket, key, filename)
        return url

    def open_link(self, url: str) -> tuple[bytes, str]:
        """What S3 answers ``GET url`` of a download link: the object's bytes and its
        ``Content-Disposition``; :class:`LinkRefused` for a link never handed out,
        :class:`ObjectNotFound` when the object is gone, :class:`NeedsRestore` when it needs a
        restore. Links never expire here (the fake has no clock)."""
        found = self.downloads.get(url)
        if found is None:
            raise LinkRefused(url)
        bucket, key, filename = found
        obj = self._readable(bucket, key)
        if obj is None:
            raise ObjectNotFound(f"s3://{bucket}/{key}")
        return obj.data, attachment(filename)

    def upload_link(self, bucket: str, key: str, expires: int) -> str:
        self.calls["upload_link"] += 1
        return f"https://{bucket}.example/{quote(key)}?put&expires={expires}"

    def upload_form(self, bucket: str, prefix: str, expires: int, max_bytes: int) -> UploadForm:
        self.calls["upload_form"] += 1
        check_prefix(prefix)
        policy = f"form-{len(self.forms) + 1}"
        signature = hashlib.sha256(f"{bucket}/{prefix}/{expires}/{max_bytes}/{policy}".encode()).hexdigest()
        form = UploadForm(
            url=f"https://{bucket}.example/",
            fields={"policy": policy, "x-fake-signature": signature},
            key_prefix=prefix,
            expires_in=expires,
            max_bytes=max_bytes,
        )
        self.forms[policy] = (bucket, form)
        return form

    def post_form(self, url: str, fields: Mapping[str, str], data: bytes) -> str:
        """What S3 does with ``POST url`` of a form's ``fields`` plus ``key`` and the file
        ``data``: store it under ``key`` (its ETag), or :class:`FormRefused` (as S3 refuses an
        unknown or altered form, another field, a key outside the prefix, a file too large).
        Forms never expire here (the fake has no clock)."""
        found = self.forms.get(fields.get("policy", ""))
        if found is None:
            raise FormRefused("no such form")
        bucket, form = found
        if url != form.url or any(fields.get(k) != v for k, v in form.fields.items()):
            raise FormRefused("the form was altered (its signature does not match)")
        unsigned = {f for f in set(fields) - set(form.fields) - {"key"} if not f.startswith("x-ignore-")}
        if unsigned:
            raise FormRefused(f"fields the policy does not name: {sorted(unsigned)}")
        key = fields.get("key", "")
        if not key.startswith(form.key_prefix):
            raise FormRefused(f"key {key!r} is not under {form.key_prefix!r}")
        if len(data) > form.max_bytes:
            raise FormRefused(f"EntityTooLarge: {len(data)} bytes, at most {form.max_bytes}")
        obj = FakeObject(bytes(data))
        self._store(bucket, key, obj)
        return obj.etag

    def restore(self, bucket: str, key: str, days: int, tier: str) -> None:
        self.calls["restore"] += 1
        obj = self._found(bucket, key)
        if obj is None:
            raise ObjectNotFound(f"s3://{bucket}/{key}")
        self.restores.append((bucket, key, days, tier))
        if obj.storage_class in NEEDS_RESTORE and obj.restore == RESTORE_NONE:
            self._store(bucket, key, replace(obj, restore=RESTORE_ONGOING))

    # -- writing -----------------------------------------------------------------------------
    def put(
        self,
        bucket: str,
        key: str,
        data: bytes | str,
        *,
        content_type: str | None = None,
        mtime: float = DEFAULT_MTIME,
    ) -> str:
        """The port's ``put``; a test may pass text (stored as UTF-8) and the ``mtime``."""
        self.calls["put"] += 1
        raw = data.encode() if isinstance(data, str) else bytes(data)
        obj = FakeObject(raw, mtime, content_type=content_type)
        self._store(bucket, key, obj)
        return obj.etag

    def put_file(self, bucket: str, key: str, path: Path) -> str:
        self.calls["put_file"] += 1
        obj = FakeObject(path.read_bytes())
        self._store(bucket, key, obj)
        return obj.etag

    def copy(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, *, if_match: str, cold: bool = False
    ) -> None:
        self.calls["copy"] += 1
        found = self._found(src_bucket, src_key)
        if found is None or found.etag != if_match.strip('"'):
            self.delete(dst_bucket, dst_key)
            raise SourceChanged(f"s3://{src_bucket}/{src_key} changed or vanished (expected ETag {if_match})")
        self._readable(src_bucket, src_key)
        tags = {COLD_TAG_KEY: COLD_TAG_VALUE} if cold else dict(found.tags)
        self._store(dst_bucket, dst_key, FakeObject(found.data, storage_class=self.storage_class, tags=tags))

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        self.calls["delete_prefix"] += 1
        check_prefix(prefix)
        keys = self.keys(bucket, prefix)
        for key in keys:
            self.delete(bucket, key)
        return len(keys)
