"""The Secrets contract, run against the in-memory fake and SecretsManagerSecrets on the
session's moto server (each test's secrets have names of their own, deleted afterwards)."""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.adapters.aws import make_client
from chalicelib.adapters.secrets import SecretNotFound, Secrets, SecretsManagerSecrets, SecretUnreadable
from tests.fakes.secrets import InMemorySecrets

# put(name, text or None for a binary secret) -> the id to read it by
Put = Callable[[str, "str | None"], str]


@pytest.fixture(params=["memory", "moto"])
def world(request: pytest.FixtureRequest) -> Iterator[tuple[Secrets, Put]]:
    if request.param == "memory":
        fake = InMemorySecrets()

        def put_fake(name: str, text: str | None) -> str:
            fake.values[name] = text
            return name

        yield fake, put_fake
        return
    url = request.getfixturevalue("moto_server_url")
    client: Any = make_client("secretsmanager", region="eu-west-1", endpoint_url=url)
    made: list[str] = []

    def put_moto(name: str, text: str | None) -> str:
        value: dict[str, Any] = {"SecretString": text} if text is not None else {"SecretBinary": b"\x00\x01"}
        arn = str(client.create_secret(Name=name, **value)["ARN"])
        made.append(arn)
        return arn

    try:
        yield SecretsManagerSecrets(client), put_moto
    finally:
        for arn in made:
            client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def name() -> str:
    return f"contract/datacite-{uuidlib.uuid4().hex[:12]}"


def test_a_json_object_is_read_by_name_or_arn(world: tuple[Secrets, Put]) -> None:
    secrets, put = world
    value = {"username": "LOCAL.CATALOGUE", "password": "pä:ss word"}
    secret_name = name()
    secret_id = put(secret_name, json.dumps(value))
    assert secrets.json_object(secret_id) == value
    assert secrets.json_object(secret_name) == value


def test_a_missing_secret_is_not_found(world: tuple[Secrets, Put]) -> None:
    secrets, _ = world
    with pytest.raises(SecretNotFound):
        secrets.json_object(name())


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"username": 7}', None])
def test_a_value_that_is_no_object_of_strings_is_unreadable_and_never_shown(
    world: tuple[Secrets, Put], text: str | None
) -> None:
    secrets, put = world
    secret_id = put(name(), text)
    with pytest.raises(SecretUnreadable) as refused:
        secrets.json_object(secret_id)
    assert text is None or text not in str(refused.value)
