"""An in-memory :class:`~chalicelib.adapters.secrets.Secrets` (tests only)."""

from __future__ import annotations

from chalicelib.adapters.secrets import SecretNotFound, Secrets, parse_object


class InMemorySecrets(Secrets):
    """Secrets as their JSON text (``values``: id → text; ``None`` stands for a binary secret);
    ``reads`` counts the reads of each id."""

    def __init__(self, values: dict[str, str | None] | None = None) -> None:
        self.values: dict[str, str | None] = dict(values or {})
        self.reads: dict[str, int] = {}

    def json_object(self, secret_id: str) -> dict[str, str]:
        self.reads[secret_id] = self.reads.get(secret_id, 0) + 1
        if secret_id not in self.values:
            raise SecretNotFound(f"no secret {secret_id!r}")
        return parse_object(secret_id, self.values[secret_id])
