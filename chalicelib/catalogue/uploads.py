"""Folder uploads (``POST /uploads``): a presigned POST form for a new folder under an S3 base
URI, which becomes a dataset by itself once its sidecar ``dataset.json`` lands (the ingest
registers sidecar folders from S3 events: :mod:`chalicelib.ingest.layouts`). Framework-free.

Nothing is recorded here: the answer is a form and the uuid the dataset will have (a UUID-5
of the folder URI, :func:`~chalicelib.ingest.layouts.sidecar_uuid`). The client posts every
file, then the sidecar LAST, so that the dataset is registered once, with every file.
"""

from __future__ import annotations

import re

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.adapters.object_storage import BucketNotFound, ObjectStorage
from chalicelib.catalogue.validation import parse_base_uri
from chalicelib.domain import JSONObject, User
from chalicelib.errors import Conflict, Forbidden, ValidationError
from chalicelib.identity import permissions as perm
from chalicelib.ingest.layouts import SIDECAR_NAMES, sidecar_uuid

SIDECAR = "dataset.json"  # the sidecar the clients write (the ingest also reads dataset.yaml)
MAX_FOLDER_CHARS = 128
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
# files whose presence in a folder above the new one makes that folder a dataset (a sidecar
# folder, a BagIt folder bag): files uploaded below it would change that dataset
_DATASET_MARKERS = (*SIDECAR_NAMES, "bagit.txt")


def parse_folder(value: object) -> str:
    """A relative folder name: 1 to 128 characters, segments of ``[A-Za-z0-9._-]`` joined by
    ``/``, none of them ``.`` or ``..``."""
    problem = "folder must be 1 to 128 characters: names of letters, digits, '.', '_' and '-' joined by '/'"
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_FOLDER_CHARS:
        raise ValidationError(problem, field="folder")
    for segment in value.split("/"):
        if not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
            raise ValidationError(f"{problem}; not {segment!r}", field="folder")
    return value


def _under(uri: str, base: str) -> bool:
    return uri == base or uri.startswith(base + "/")


class Uploads:
    """Starts folder uploads into S3 base URIs.

    ``refused_base_uris``: base URIs nobody uploads into (the archive's AIPs, written by the
    catalogue only; the deposits, uploaded one bag at a time with ``POST /archives``), nor into
    a folder of theirs. ``expires`` and ``max_bytes``: the forms' lifetime and size limit.
    """

    def __init__(
        self,
        repo: Repository,
        store: ObjectStorage,
        *,
        refused_base_uris: frozenset[str],
        expires: int,
        max_bytes: int,
    ) -> None:
        self._repo = repo
        self._store = store
        self._refused = refused_base_uris
        self._expires = expires
        self._max_bytes = max_bytes

    def start(self, user: User, base_uri: object, folder: object) -> JSONObject:
        """A form to upload the folder ``folder`` under ``base_uri``, and the dataset it becomes.

        Authorize, then validate: without register permission on ``base_uri`` the answer is
        Forbidden whether it is registered or not (as ``POST /datasets``); then ValidationError
        for a base URI that is not registered, not ``s3://`` or refused, or a malformed
        ``folder``; Forbidden or ValidationError for a folder inside a nested base URI (which
        would take the dataset); Conflict when the folder holds objects already or lies inside
        a dataset folder (an upload never mixes with someone's files). The check is no lock:
        two uploads started together into one new folder both get a form.
        """
        base_uri = parse_base_uri(base_uri)  # malformed input says nothing of the catalogue
        if not perm.may_register(user, base_uri):
            raise Forbidden(f"no register permission on {base_uri}")
        base = self._repo.get_base_uri(base_uri)
        if base is None or base.deleted:
            raise ValidationError(f"base_uri {base_uri} is not registered", field="base_uri")
        if not base_uri.startswith("s3://"):
            raise ValidationError("folders are uploaded to s3:// base URIs only", field="base_uri")
        if any(_under(base_uri, refused) for refused in self._refused):
            raise ValidationError(f"nobody uploads folders to {base_uri}", field="base_uri")
        folder = parse_folder(folder)
        uri = f"{base_uri}/{folder}"
        if any(_under(uri, refused) for refused in self._refused):
            raise ValidationError(f"nobody uploads folders to {uri}", field="folder")
        self._check_holder(user, base_uri, uri)
        bucket, _, base_prefix = base_uri.removeprefix("s3://").partition("/")
        folder_key = f"{base_prefix}/{folder}" if base_prefix else folder
        self._check_free(bucket, base_prefix, folder_key, uri)
        form = self._store.upload_form(bucket, folder_key + "/", self._expires, self._max_bytes)
        return {
            "base_uri": base_uri,
            "folder": folder,
            "uri": uri,
            "uuid": sidecar_uuid(uri),
            "sidecar": SIDECAR,
            # the sidecar's creator, unless the uploader names another
            "creator": user.username,
            "url": form.url,
            "fields": form.fields,
            "key_prefix": form.key_prefix,
            "expires_in": form.expires_in,
            "max_bytes": form.max_bytes,
        }

    def _check_holder(self, user: User, base_uri: str, uri: str) -> None:
        """The ingest files a folder under the longest registered base URI holding it: a base
        URI nested in ``base_uri`` that holds the folder would take the dataset, and its
        registrars only may put one there (Forbidden for others, naming no base URI)."""
        holders = [b.base_uri for b in self._repo.list_base_uris() if _under(uri, b.base_uri) and not b.deleted]
        holder = max(holders, key=len, default=base_uri)
        if len(holder) <= len(base_uri):
            return
        if not perm.may_register(user, holder):
            raise Forbidden(f"no register permission on {uri}")
        raise ValidationError(f"{uri} lies under the base URI {holder}: upload to it there", field="folder")

    def _check_free(self, bucket: str, base_prefix: str, folder_key: str, uri: str) -> None:
        """Conflict when ``folder_key/`` holds an object, or a folder above it is a dataset
        folder (its listing would take the new files in): one LIST, then at most 4 HEADs per
        folder above (the name's 128 characters, and the base URI's, bound them)."""
        try:
            if next(iter(self._store.list(bucket, folder_key + "/")), None) is not None:
                raise Conflict(f"{uri} holds files already: upload to a new folder")
        except BucketNotFound:
            raise Conflict(f"the bucket of {uri} does not exist: an administrator has to make it") from None
        parts = folder_key.split("/")
        for depth in range(len(parts) - 1, 0, -1):
            above = "/".join(parts[:depth])
            for name in _DATASET_MARKERS:
                if self._store.head(bucket, f"{above}/{name}") is not None:
                    # a folder above the base URI may be another base URI's: not named
                    inside = _under(above, base_prefix) if base_prefix else True
                    where = f" s3://{bucket}/{above}" if inside else ""
                    raise Conflict(f"{uri} lies inside a dataset folder{where}: upload elsewhere")
