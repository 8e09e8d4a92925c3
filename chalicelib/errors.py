"""Domain errors: framework-free. They are mapped to HTTP in ``chalicelib.routes._http`` only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class CatalogueError(Exception):
    """Base of every error the catalogue reports to a caller."""

    code = "CatalogueError"


class ValidationError(CatalogueError):
    """Input is malformed; ``field`` names the offending field when there is one."""

    code = "BadRequest"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidRecord(ValidationError):
    """A record that breaks its kind's rules: ``errors`` maps each field to its messages
    (Rails' ``errors.messages``, as myMdC's clients read them); answered as 422."""

    code = "Unprocessable"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in errors.items()}
        summary = "; ".join(f"{k} {', '.join(v)}" for k, v in self.errors.items())
        super().__init__(summary or "invalid")


class PayloadTooLarge(CatalogueError):
    code = "PayloadTooLarge"


class AuthenticationError(CatalogueError):
    """No token, or a token that fails verification."""

    code = "Unauthorized"


class AuthUnavailable(CatalogueError):
    """Tokens cannot be verified now (e.g. the JWKS is unreachable and nothing is cached)."""

    code = "ServiceUnavailable"


class Forbidden(CatalogueError):
    code = "Forbidden"


class NotFound(CatalogueError):
    code = "NotFound"


class NotAcceptable(CatalogueError):
    """No representation the caller's ``Accept`` header allows can be served."""

    code = "NotAcceptable"


class Conflict(CatalogueError):
    """Generic conflict with the current state."""

    code = "Conflict"


class AlreadyExists(Conflict):
    code = "AlreadyExists"


class VersionConflict(Conflict):
    """An edit carried a version that is no longer current."""

    code = "VersionConflict"

    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class ArchiveExists(Conflict):
    """The same content from the same source is archived (or being archived) already."""

    code = "ArchiveExists"

    def __init__(self, message: str, archive_id: str) -> None:
        super().__init__(message)
        self.archive_id = archive_id


class SearchUnavailable(CatalogueError):
    """The search index cannot be reached; records are safe, search is not."""

    code = "SearchUnavailable"


class SummaryUnavailable(CatalogueError):
    """The summary counters cannot be read or written now (their table cannot be reached, or
    concurrent writers outlasted the retries); records are safe."""

    code = "ServiceUnavailable"


class UpstreamUnavailable(CatalogueError):
    """An upstream repository (a harvest's source) cannot be read now: network, timeout, 5xx."""

    code = "UpstreamUnavailable"


class TooManyRequests(CatalogueError):
    """Too many attempts of something rate-limited; ``retry_after``: whole seconds until the
    caller may try again (sent as ``Retry-After``)."""

    code = "TooManyRequests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SignInUnavailable(CatalogueError):
    """Password sign-in cannot be served now (the identity provider or the attempt counters
    cannot be reached); nothing about the credentials is implied."""

    code = "ServiceUnavailable"


class SignInNotConfigured(SignInUnavailable):
    """This deployment has no user pool to sign in to (its settings name none)."""

    code = "NotConfigured"


class InvalidDocument(ValidationError):
    """A document (an XML file, a JSON object, a CSV sheet) that breaks its schema: ``problems``
    lists every problem found at once, each ``{"path": ..., "message": ...}`` (an XPath for XML,
    a JSON pointer for JSON, ``row N`` for CSV); answered as 400 with them in ``Errors``."""

    code = "InvalidDocument"

    def __init__(self, message: str, problems: Sequence[Mapping[str, str]]) -> None:
        super().__init__(message)
        self.problems: list[dict[str, str]] = [dict(p) for p in problems]


class DoisUnavailable(CatalogueError):
    """DOIs cannot be registered now (DataCite cannot be reached, or refuses the account)."""

    code = "ServiceUnavailable"


class DoisNotConfigured(DoisUnavailable):
    """This deployment registers no DOIs (its settings name no DataCite account)."""

    code = "NotConfigured"
