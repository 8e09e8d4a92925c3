"""Secrets (AWS Secrets Manager): the port and its boto3 adapter.

:class:`Secrets` reads one secret's JSON object (e.g. DataCite's repository account,
``{"username", "password"}``); :class:`SecretsManagerSecrets` implements it over an injected
boto3 ``secretsmanager`` client. The in-memory fake is ``tests.fakes.secrets.InMemorySecrets``;
both pass ``tests/contract/test_secrets_contract.py`` (the adapter on moto server). Errors:
:class:`SecretNotFound`, :class:`SecretUnreadable` (not a JSON object, no string value,
access denied), :class:`~chalicelib.adapters.errors.TransientError`. Values are never logged
nor put in an error message.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.aws import error_code, transient_as


class SecretNotFound(Exception):
    """No secret of that id (or it is scheduled for deletion)."""


class SecretUnreadable(Exception):
    """The secret exists but cannot be read as a JSON object of strings (or access is denied)."""


class Secrets(ABC):
    """A store of secrets.

    - ``json_object(secret_id)`` MUST return the current value of ``secret_id`` (an id or ARN)
      as a JSON object whose values are strings; a missing secret MUST raise
      :class:`SecretNotFound`; a value that is not such an object (or binary)
      :class:`SecretUnreadable`, whose message never holds the value.
    """

    @abstractmethod
    def json_object(self, secret_id: str) -> dict[str, str]: ...


def parse_object(secret_id: str, text: str | None) -> dict[str, str]:
    """``text`` as a JSON object of strings (every implementation checks alike)."""
    if text is None:
        raise SecretUnreadable(f"secret {secret_id!r} holds no string value")
    try:
        value: Any = json.loads(text)
    except ValueError:
        raise SecretUnreadable(f"secret {secret_id!r} is not JSON") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise SecretUnreadable(f"secret {secret_id!r} is not a JSON object of strings")
    return {str(k): v for k, v in value.items()}


_MISSING = frozenset({"ResourceNotFoundException"})


class SecretsManagerSecrets(Secrets):
    """AWS Secrets Manager through a boto3 ``secretsmanager`` client (GetSecretValue only)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def json_object(self, secret_id: str) -> dict[str, str]:
        try:
            with transient_as(f"GetSecretValue of {secret_id}"):
                answer = self._client.get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise SecretNotFound(f"no secret {secret_id!r}") from None
            raise SecretUnreadable(f"secret {secret_id!r}: {error_code(exc)}") from None
        except BotoCoreError as exc:  # no credentials, a parameter botocore refuses, ...
            raise SecretUnreadable(f"secret {secret_id!r}: {type(exc).__name__}") from None
        return parse_object(secret_id, answer.get("SecretString"))
