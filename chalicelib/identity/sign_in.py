"""Password sign-in for dtool's token generator (``POST /token``), rate-limited.

dtool-lookup-api POSTs ``{"username", "password"}`` to the URL configured as
``DSERVER_TOKEN_GENERATOR_URL`` (or ``DTOOL_LOOKUP_SERVER_TOKEN_GENERATOR_URL``) and reads
``["token"]`` from the answer. :class:`SignInService` signs the user in to the identity
provider (the Cognito user pool, whose access tokens the catalogue's
:class:`~chalicelib.identity.tokens.TokenVerifier` trusts) and returns the access token.

What a caller can learn is limited on purpose:

- an unknown user and a wrong password get the same :class:`AuthenticationError`, with
  the same message (:data:`REFUSED`), and both count as a failed attempt;
- :class:`RateLimit` allows a number of attempts per username and per source address in a
  fixed window. Every attempt takes one from both counters *before* the provider is asked
  (an atomic conditional add in the shared :class:`AttemptCounter`, so concurrent requests
  and other containers cannot pass the limit together); a successful sign-in, a right
  password the provider wants a further step for, or an outage of the provider gives them
  back, so what stays counted are the failed attempts. Once a
  counter is full, :class:`TooManyRequests` (with the seconds left in the window) is
  answered without asking the provider. Unknown users are counted like known ones, so the
  limit says nothing about who exists;
- the password is never logged, never put in an error, never stored; usernames and
  addresses are stored only as hashes in the counters' keys.

Nothing here knows HTTP: the route (:mod:`chalicelib.routes.tokens`) parses the body with
:func:`parse_credentials` and passes the source address API Gateway saw.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from chalicelib.adapters.dynamodb.attempts import AttemptCounter, AttemptsUnavailable
from chalicelib.adapters.errors import TransientError
from chalicelib.adapters.identity import (
    IdentityError,
    IdentityProvider,
    ProviderNotFound,
    SignInChallenged,
    SignInRefused,
)
from chalicelib.catalogue.validation import USERNAME_RE
from chalicelib.config import IssuerConfig
from chalicelib.errors import (
    AuthenticationError,
    Forbidden,
    SignInNotConfigured,
    SignInUnavailable,
    TooManyRequests,
    ValidationError,
)

log = logging.getLogger(__name__)

MAX_USERNAME_CHARS = 128  # Cognito's own limit
MAX_PASSWORD_CHARS = 256  # Cognito's own limit
FIELDS = ("username", "password")
#: The one answer for an unknown user and for a wrong password.
REFUSED = "invalid username or password"
LIMITED = "too many failed sign-in attempts; try again later"
CHALLENGED = (
    "this account needs a step a password alone cannot take (a new password or a second factor): "
    "sign in once with the identity provider's own client"
)
# IPv6 clients are counted per /64: one host usually holds a whole /64.
IPV6_PREFIX = 64
UNKNOWN_SOURCE = "unknown"


@dataclass(frozen=True)
class Credentials:
    """A username and password as the caller sent them (the password is never shown)."""

    username: str
    password: str = field(repr=False)


def parse_credentials(body: object) -> Credentials:
    """``{"username": str, "password": str}`` and nothing else, each within Cognito's limits.

    A username that cannot be a catalogue user (outside
    :data:`~chalicelib.catalogue.validation.USERNAME_RE`) is refused here: no token for it
    could pass the catalogue's verifier. Error messages never repeat a value.
    """
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object with username and password", field="body")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]!r}", field=unknown[0])
    username = body.get("username")
    password = body.get("password")
    if not isinstance(username, str) or not username:
        raise ValidationError("username must be a non-empty string", field="username")
    if len(username) > MAX_USERNAME_CHARS or not USERNAME_RE.fullmatch(username):  # "$" passes a final "\n"
        raise ValidationError(f"username must match {USERNAME_RE.pattern}", field="username")
    if not isinstance(password, str) or not password:
        raise ValidationError("password must be a non-empty string", field="password")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValidationError(f"password must be at most {MAX_PASSWORD_CHARS} characters", field="password")
    return Credentials(username=username, password=password)


# -- the rate-limit rule (pure) ------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` counted attempts per fixed window of ``window_seconds``."""

    attempts: int
    window_seconds: int

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.window_seconds < 1:
            raise ValueError("a limit needs at least one attempt and a window of at least one second")


@dataclass(frozen=True)
class Counter:
    """One counter an attempt takes from: its key (what is counted, hashed, and the window),
    its ceiling, and when its window ends (seconds since the epoch; also when the store may
    forget it)."""

    key: str
    limit: int
    window_ends: float

    def retry_after(self, now: float) -> int:
        """Whole seconds until this counter's window is over (at least 1)."""
        return max(1, math.ceil(self.window_ends - now))


@dataclass(frozen=True)
class RateLimit:
    """Failed sign-ins allowed per username and per source address, in fixed windows.

    The source limit is the larger one: one address may try several usernames (a lab
    behind one NAT), but not spray many. Usernames are counted case-insensitively (a user
    pool may be), so ``Alice`` and ``alice`` share a counter.
    """

    per_username: Limit = Limit(attempts=5, window_seconds=15 * 60)
    per_source: Limit = Limit(attempts=30, window_seconds=15 * 60)

    def counters(self, username: str, source: str | None, now: float) -> tuple[Counter, Counter]:
        """The username's counter and the source's counter for an attempt at ``now``."""
        return (
            _counter("user", username_subject(username), self.per_username, now),
            _counter("source", source_subject(source), self.per_source, now),
        )


def _counter(kind: str, subject: str, limit: Limit, now: float) -> Counter:
    window = int(now // limit.window_seconds)
    digest = hashlib.sha256(f"{kind}:{subject}".encode()).hexdigest()[:32]
    return Counter(
        key=f"sign-in#{kind}#{digest}#{limit.window_seconds}#{window}",
        limit=limit.attempts,
        window_ends=float((window + 1) * limit.window_seconds),
    )


def username_subject(username: str) -> str:
    """What the username counter counts: the username, NFKC-normalised and case-folded."""
    return unicodedata.normalize("NFKC", username).casefold()


def source_subject(source: str | None) -> str:
    """What the source counter counts: an IPv4 address, an IPv6 address's /64, or
    :data:`UNKNOWN_SOURCE` (all callers without a readable address share one counter)."""
    if not source:
        return UNKNOWN_SOURCE
    try:
        address = ipaddress.ip_address(source.strip())
    except ValueError:
        return UNKNOWN_SOURCE
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def trusts_pool(issuers: Iterable[IssuerConfig], pool_id: str, client_id: str) -> bool:
    """Whether the verifier configured with ``issuers`` accepts access tokens of the user
    pool ``pool_id`` issued to ``client_id`` (else a token from ``POST /token`` would be
    refused on every other route)."""
    return any(
        i.issuer.rstrip("/").endswith(f"/{pool_id}") and client_id in i.client_ids and i.token_use == "access"
        for i in issuers
    )


# -- the service ---------------------------------------------------------------------------


class SignInService:
    """Access tokens for a username and password, within :class:`RateLimit`.

    ``provider`` is ``None`` when the deployment offers no password sign-in (no user pool
    configured): every call then raises :class:`SignInNotConfigured`. ``clock`` gives
    seconds since the epoch (the windows are aligned to it).
    """

    def __init__(
        self,
        provider: IdentityProvider | None,
        attempts: AttemptCounter,
        *,
        rule: RateLimit | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._provider = provider
        self._attempts = attempts
        self._rule = rule or RateLimit()
        self._clock = clock

    @property
    def configured(self) -> bool:
        return self._provider is not None

    def access_token(self, credentials: Credentials, source: str | None) -> str:
        """The access token of ``credentials``' user; ``source`` is the caller's address as
        the API front door saw it (never a client-supplied header).

        Raises :class:`AuthenticationError` (:data:`REFUSED`) for an unknown user or a wrong
        password, :class:`TooManyRequests` when a counter is full (the provider is not
        asked), :class:`Forbidden` when the password is right but the provider wants a
        further step, :class:`SignInUnavailable` when the provider or the counters cannot
        be reached (failing closed), :class:`SignInNotConfigured` without a provider.
        """
        provider = self._provider
        if provider is None:
            raise SignInNotConfigured("CATALOGUE_USER_POOL_ID / CATALOGUE_USER_POOL_CLIENT_ID are not set")
        now = self._clock()
        counters = self._rule.counters(credentials.username, source, now)
        taken = self._take(counters, now, source)
        try:
            issued = provider.sign_in(credentials.username, credentials.password)
        except SignInRefused as exc:
            # counted: both counters keep what this attempt took
            log.info("sign-in refused (%s, source %s)", counters[0].key, source_subject(source))
            raise AuthenticationError(REFUSED) from exc
        except SignInChallenged as exc:
            self._give_back(taken)  # the password was right: not a failure
            raise Forbidden(CHALLENGED) from exc
        except (TransientError, ProviderNotFound) as exc:
            self._give_back(taken)  # our side failed, not the caller
            raise SignInUnavailable(f"the identity provider cannot sign users in: {exc}") from exc
        except IdentityError as exc:
            # an unexpected refusal: stays counted (fail closed), reported as our failure
            raise SignInUnavailable(f"the identity provider refused the sign-in: {exc}") from exc
        self._give_back(taken)
        return issued.token

    def _take(self, counters: tuple[Counter, ...], now: float, source: str | None) -> list[Counter]:
        """Take one from every counter, or none: a full one gives back what was taken and
        raises :class:`TooManyRequests`."""
        taken: list[Counter] = []
        try:
            for counter in counters:
                if not self._attempts.take(counter.key, counter.limit, counter.window_ends):
                    self._give_back(taken)
                    log.warning("sign-in rate-limited (%s, source %s)", counter.key, source_subject(source))
                    raise TooManyRequests(LIMITED, retry_after=counter.retry_after(now))
                taken.append(counter)
        except AttemptsUnavailable as exc:
            self._give_back(taken)
            raise SignInUnavailable(f"the sign-in attempt counters cannot be reached: {exc}") from exc
        return taken

    def _give_back(self, taken: Iterable[Counter]) -> None:
        """Give back what an attempt took; a failure costs the caller one attempt, nothing more."""
        for counter in taken:
            try:
                self._attempts.give_back(counter.key)
            except AttemptsUnavailable:
                log.warning("could not give back a sign-in attempt (%s)", counter.key, exc_info=True)
