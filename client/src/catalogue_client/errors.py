"""What the catalogue answered when it refused: its ``Code`` and ``Message``, and the status."""

from __future__ import annotations

from typing import Any


class CatalogueError(Exception):
    """An error answer (4xx/5xx) of the catalogue; ``code`` and ``message`` are its own
    (``{"Code": ..., "Message": ...}``), ``errors`` the problems of an invalid document."""

    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.field: str | None = body.get("Field") if isinstance(body, dict) else None
        self.errors: Any = body.get("Errors") if isinstance(body, dict) else None
        self.current_version: int | None = body.get("CurrentVersion") if isinstance(body, dict) else None


class Unauthorized(CatalogueError):
    """401: no credentials, or credentials that do not verify."""


class Forbidden(CatalogueError):
    """403: the caller may not do this."""


class NotFound(CatalogueError):
    """404: not there, or not there for this caller."""


class Conflict(CatalogueError):
    """409: e.g. an edit of a version that is no longer current (``current_version``)."""


class RateLimited(CatalogueError):
    """429, after the client's retries."""


class Unavailable(CatalogueError):
    """5xx after the client's retries, or the catalogue could not be reached."""


_BY_STATUS: dict[int, type[CatalogueError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_for(status: int, body: Any) -> CatalogueError:
    """The exception of an error answer with ``body`` (the parsed JSON, or the text)."""
    code, message = "Error", str(body)[:500] if body else f"HTTP {status}"
    if isinstance(body, dict):
        code = str(body.get("Code") or code)
        message = str(body.get("Message") or body.get("info") or message)
    cls = _BY_STATUS.get(status, Unavailable if status >= 500 else CatalogueError)
    return cls(status, code, message, body)
