"""How the S3 adapter turns botocore's errors into the port's (stub clients; no moto).

What S3 answers to each call is faked here, including answers moto never gives
(``RestoreAlreadyInProgress``, throttling, a connection dropped mid-stream). What every
implementation must do is pinned by ``tests/contract/test_object_storage_contract.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError, ResponseStreamingError

from chalicelib.adapters.errors import TransientError
from chalicelib.adapters.object_storage import NeedsRestore, ObjectNotFound, SourceChanged
from chalicelib.adapters.s3 import S3ObjectStorage


def client_error(code: str, status: int, operation: str = "PutObject") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


class FailingClient:
    """Every call raises ``exc``; ``calls`` records the operations asked for."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(*_args: Any, **_kwargs: Any) -> Any:
            self.calls.append(name)
            raise self.exc

        return call


class BrokenBody:
    """A response body whose connection drops after the first chunk."""

    def __init__(self) -> None:
        self.closed = False

    def iter_chunks(self, _size: int) -> Iterator[bytes]:
        yield b"first"
        raise ResponseStreamingError(error="connection reset")

    def read(self, _amount: int) -> bytes:
        raise ReadTimeoutError(endpoint_url="https://s3")

    def close(self) -> None:
        self.closed = True


class DroppingClient:
    def __init__(self) -> None:
        self.body = BrokenBody()

    def get_object(self, **_kwargs: Any) -> dict[str, Any]:
        return {"Body": self.body, "ContentLength": 10}


@pytest.mark.parametrize(
    "exc",
    [
        client_error("SlowDown", 503),
        client_error("InternalError", 500),
        client_error("RequestTimeout", 400),
        client_error("Whatever", 502),
        ReadTimeoutError(endpoint_url="https://s3"),
    ],
)
def test_transient_errors_are_wrapped(exc: Exception) -> None:
    storage = S3ObjectStorage(FailingClient(exc))
    with pytest.raises(TransientError):
        storage.put("b", "k", b"x")
    with pytest.raises(TransientError):
        storage.head("b", "k")
    with pytest.raises(TransientError):
        storage.get_bytes("b", "k", 10)
    with pytest.raises(TransientError):
        list(storage.iter_chunks("b", "k"))
    with pytest.raises(TransientError):
        list(storage.list("b", "p/"))
    with pytest.raises(TransientError):
        storage.restore("b", "k", 1, "Bulk")


def test_a_connection_dropped_while_reading_is_transient_and_the_body_is_closed() -> None:
    client = DroppingClient()
    chunks = S3ObjectStorage(client).iter_chunks("b", "k")
    assert next(chunks) == b"first"
    with pytest.raises(TransientError, match="read s3://b/k"):
        next(chunks)
    assert client.body.closed
    client = DroppingClient()
    with pytest.raises(TransientError):
        S3ObjectStorage(client).get_bytes("b", "k", 100)
    assert client.body.closed


def test_other_errors_pass_through_and_restore_classes_are_refused() -> None:
    with pytest.raises(ClientError):
        S3ObjectStorage(FailingClient(client_error("AccessDenied", 403))).put("b", "k", b"x")
    with pytest.raises(ClientError):
        S3ObjectStorage(FailingClient(client_error("AccessDenied", 403))).head("b", "k")
    with pytest.raises(ValueError, match="restore"):
        S3ObjectStorage(object(), "DEEP_ARCHIVE")
    with pytest.raises(ValueError, match="restore"):
        S3ObjectStorage(object(), "GLACIER")
    with pytest.raises(ValueError, match="page_size"):
        S3ObjectStorage(object(), page_size=1001)


@pytest.mark.parametrize("code", ["RestoreAlreadyInProgress", "InvalidObjectState"])
def test_a_restore_asked_again_or_not_needed_is_not_an_error(code: str) -> None:
    client = FailingClient(client_error(code, 409 if code == "RestoreAlreadyInProgress" else 403, "RestoreObject"))
    S3ObjectStorage(client).restore("b", "k", 7, "Bulk")
    assert client.calls == ["restore_object"]


def test_a_restore_of_a_missing_object_is_object_not_found() -> None:
    with pytest.raises(ObjectNotFound):
        S3ObjectStorage(FailingClient(client_error("NoSuchKey", 404, "RestoreObject"))).restore("b", "k", 7, "Bulk")


def test_reads_and_copies_of_archived_objects_need_a_restore() -> None:
    storage = S3ObjectStorage(FailingClient(client_error("InvalidObjectState", 403, "GetObject")))
    with pytest.raises(NeedsRestore):
        storage.get_bytes("b", "k", 10)
    with pytest.raises(NeedsRestore):
        list(storage.iter_chunks("b", "k"))
    client = FailingClient(client_error("ObjectNotInActiveTierError", 403, "CopyObject"))
    with pytest.raises(NeedsRestore):
        S3ObjectStorage(client).copy("b", "k", "c", "k", if_match="e")
    assert client.calls == ["copy"]  # nothing to discard: no copy was made


@pytest.mark.parametrize("code", ["PreconditionFailed", "412", "NoSuchKey", "404"])
def test_a_failed_precondition_or_a_missing_source_discards_the_destination(code: str) -> None:
    class Client(FailingClient):
        def delete_object(self, **kwargs: Any) -> None:
            self.calls.append(f"delete_object {kwargs['Bucket']}/{kwargs['Key']}")

    client = Client(client_error(code, 412, "CopyObject"))
    with pytest.raises(SourceChanged):
        S3ObjectStorage(client).copy("b", "k", "c", "dst", if_match="e")
    assert client.calls == ["copy", "delete_object c/dst"]


class PartlyDeleting:
    """One page listed; DeleteObjects reports ``code`` for one key."""

    def __init__(self, code: str) -> None:
        self.code = code

    def get_paginator(self, _name: str) -> Any:
        class Paginator:
            def paginate(self, **_kwargs: Any) -> Iterator[dict[str, Any]]:
                yield {"Contents": [{"Key": "p/a"}, {"Key": "p/b"}]}

        return Paginator()

    def delete_objects(self, **_kwargs: Any) -> dict[str, Any]:
        return {"Errors": [{"Key": "p/b", "Code": self.code}]}


def test_a_partial_delete_is_transient_only_for_transient_codes() -> None:
    with pytest.raises(TransientError, match="p/b: SlowDown"):
        S3ObjectStorage(PartlyDeleting("SlowDown")).delete_prefix("b", "p/")
    with pytest.raises(RuntimeError, match="p/b: AccessDenied") as excinfo:
        S3ObjectStorage(PartlyDeleting("AccessDenied")).delete_prefix("b", "p/")
    assert not isinstance(excinfo.value, TransientError)
