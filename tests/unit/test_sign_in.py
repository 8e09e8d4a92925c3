"""Password sign-in (chalicelib.identity.sign_in): the body, the rate-limit rule, and the
service over the in-memory identity provider and attempt counters (no AWS, no HTTP)."""

from __future__ import annotations

import threading

import pytest

from chalicelib.adapters.errors import TransientError
from chalicelib.adapters.identity import IdentityError, ProviderNotFound
from chalicelib.config import IssuerConfig
from chalicelib.errors import (
    AuthenticationError,
    Forbidden,
    SignInNotConfigured,
    SignInUnavailable,
    TooManyRequests,
    ValidationError,
)
from chalicelib.identity.sign_in import (
    MAX_PASSWORD_CHARS,
    MAX_USERNAME_CHARS,
    REFUSED,
    UNKNOWN_SOURCE,
    Credentials,
    Limit,
    RateLimit,
    SignInService,
    parse_credentials,
    source_subject,
    trusts_pool,
    username_subject,
)
from chalicelib.identity.tokens import TokenVerifier
from tests.fakes.attempts import InMemoryAttemptCounter
from tests.fakes.identity import InMemoryIdentityProvider

PASSWORD = "Unit-Password-1a"
SECRET = "Never-Echo-This-9z"
T0 = 1_700_000_100.0  # some time inside a 15-minute window
WINDOW = 900


# -- the body ------------------------------------------------------------------------------


def test_credentials_are_parsed_and_the_password_is_not_shown() -> None:
    creds = parse_credentials({"username": "alice", "password": SECRET})
    assert creds == Credentials("alice", SECRET)
    assert SECRET not in repr(creds)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ("alice", "body"),
        (None, "body"),
        ({}, "username"),
        ({"password": SECRET}, "username"),
        ({"username": "alice"}, "password"),
        ({"username": 7, "password": SECRET}, "username"),
        ({"username": "", "password": SECRET}, "username"),
        ({"username": "alice", "password": ""}, "password"),
        ({"username": "alice", "password": ["x"]}, "password"),
        ({"username": "alice", "password": None}, "password"),
        ({"username": "a" * (MAX_USERNAME_CHARS + 1), "password": SECRET}, "username"),
        ({"username": "alice", "password": "x" * (MAX_PASSWORD_CHARS + 1)}, "password"),
        ({"username": "al ice", "password": SECRET}, "username"),
        ({"username": "alice\n", "password": SECRET}, "username"),
        ({"username": "alice", "password": SECRET, "msg": "x"}, "msg"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field_never_the_password(body: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_credentials(body)
    assert caught.value.field == field
    assert SECRET not in str(caught.value)


def test_the_longest_allowed_values_pass() -> None:
    parse_credentials({"username": "a" * MAX_USERNAME_CHARS, "password": "x" * MAX_PASSWORD_CHARS})
    parse_credentials({"username": "alice@example.org", "password": "x"})  # an email alias


# -- the rule ------------------------------------------------------------------------------


def test_counters_are_per_username_and_source_within_one_window() -> None:
    rule = RateLimit(per_username=Limit(5, WINDOW), per_source=Limit(50, WINDOW))
    user, source = rule.counters("alice", "203.0.113.7", T0)
    assert (user.limit, source.limit) == (5, 50)
    assert user.key != source.key
    start = T0 - T0 % WINDOW
    assert user.window_ends == source.window_ends == start + WINDOW
    # the same window gives the same keys; the next window new ones
    assert rule.counters("alice", "203.0.113.7", start + WINDOW - 0.001) == (user, source)
    later_user, later_source = rule.counters("alice", "203.0.113.7", start + WINDOW)
    assert later_user.key != user.key and later_source.key != source.key
    assert later_user.window_ends == start + 2 * WINDOW


def test_keys_hold_neither_usernames_nor_addresses() -> None:
    user, source = RateLimit().counters("alice", "203.0.113.7", T0)
    assert "alice" not in user.key and "203.0.113" not in source.key
    assert user.key.startswith("sign-in#user#") and source.key.startswith("sign-in#source#")


def test_usernames_share_a_counter_whatever_their_case_or_unicode_form() -> None:
    rule = RateLimit()
    key = rule.counters("alice", None, T0)[0].key
    assert rule.counters("ALICE", None, T0)[0].key == key
    assert rule.counters("\uff41lice", None, T0)[0].key == key  # fullwidth a (NFKC)
    assert rule.counters("alicia", None, T0)[0].key != key
    assert username_subject("Straße") == username_subject("STRASSE")


@pytest.mark.parametrize(
    ("source", "subject"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # the same /64: one counter
        ("::ffff:203.0.113.7", "203.0.113.7"),
        (None, UNKNOWN_SOURCE),
        ("", UNKNOWN_SOURCE),
        ("not-an-address", UNKNOWN_SOURCE),
    ],
)
def test_sources_are_counted_per_address_and_per_ipv6_64(source: str | None, subject: str) -> None:
    assert source_subject(source) == subject


def test_retry_after_is_the_rest_of_the_window_in_whole_seconds() -> None:
    user, _ = RateLimit(per_username=Limit(5, WINDOW)).counters("alice", None, T0)
    assert user.retry_after(user.window_ends - 10.2) == 11
    assert user.retry_after(user.window_ends - WINDOW) == WINDOW
    assert user.retry_after(user.window_ends) == 1  # never 0


def test_a_limit_needs_an_attempt_and_a_window() -> None:
    with pytest.raises(ValueError):
        Limit(0, WINDOW)
    with pytest.raises(ValueError):
        Limit(5, 0)


def test_the_verifier_must_trust_the_pool() -> None:
    pool = "eu-west-1_Abc123"
    good = IssuerConfig(f"https://cognito-idp.eu-west-1.amazonaws.com/{pool}", "https://x/jwks", ("client",))
    assert trusts_pool([good], pool, "client")
    assert not trusts_pool([good], pool, "other-client")
    assert not trusts_pool([good], "eu-west-1_Other", "client")
    id_tokens = IssuerConfig(good.issuer, good.jwks_url, ("client",), token_use="id")
    assert not trusts_pool([id_tokens], pool, "client")
    assert not trusts_pool([], pool, "client")


# -- the service ---------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Setup:
    def __init__(self, per_username: int = 3, per_source: int = 5) -> None:
        self.provider = InMemoryIdentityProvider()
        self.provider.create_user("alice", PASSWORD)
        self.provider.create_user("bob", PASSWORD)
        self.attempts = InMemoryAttemptCounter()
        self.clock = Clock()
        self.rule = RateLimit(per_username=Limit(per_username, WINDOW), per_source=Limit(per_source, WINDOW))
        self.service = SignInService(self.provider, self.attempts, rule=self.rule, clock=self.clock)

    def token(self, username: str, password: str = PASSWORD, source: str | None = "203.0.113.7") -> str:
        return self.service.access_token(Credentials(username, password), source)

    def counts(self, username: str, source: str | None = "203.0.113.7") -> tuple[int, int]:
        user, src = self.rule.counters(username, source, self.clock.now)
        return self.attempts.count(user.key), self.attempts.count(src.key)


@pytest.fixture
def setup() -> Setup:
    return Setup()


def test_a_right_password_gives_a_token_of_that_user_and_counts_nothing(setup: Setup) -> None:
    token = setup.token("alice")
    assert token.count(".") == 2
    assert setup.counts("alice") == (0, 0)
    # the token is the provider's, and names alice
    verifier = TokenVerifier([setup.provider.issuer_config()], stage="test", fetch_jwks=setup.provider.fetch_jwks)
    assert verifier.verify(f"Bearer {token}").username == "alice"


def test_an_unknown_user_and_a_wrong_password_are_refused_alike_and_both_count(setup: Setup) -> None:
    errors = []
    for username, password in (("alice", "Wrong-Password-1a"), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationError) as caught:
            setup.token(username, password)
        errors.append((type(caught.value), caught.value.code, str(caught.value)))
    assert errors[0] == errors[1] == (AuthenticationError, "Unauthorized", REFUSED)
    assert setup.counts("alice") == (1, 2)
    assert setup.counts("nobody") == (1, 2)


def test_after_the_username_limit_the_provider_is_not_asked_until_the_window_ends(setup: Setup) -> None:
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            setup.token("alice", "Wrong-Password-1a")
    asked = len(setup.provider.sign_ins)
    with pytest.raises(TooManyRequests) as caught:
        setup.token("alice")  # even the right password
    assert len(setup.provider.sign_ins) == asked
    user, _ = setup.rule.counters("alice", None, setup.clock.now)
    assert caught.value.retry_after == user.retry_after(setup.clock.now)
    assert setup.counts("alice") == (3, 3)  # a refused attempt takes nothing
    # another user from the same source is not held back by alice's counter
    assert setup.token("bob")
    # the next window starts afresh
    setup.clock.now = user.window_ends
    assert setup.token("alice")


def test_the_username_limit_holds_from_any_source_and_for_any_spelling(setup: Setup) -> None:
    for i, name in enumerate(("alice", "Alice", "ALICE")):
        with pytest.raises(AuthenticationError):
            setup.token(name, "Wrong-Password-1a", source=f"198.51.100.{i}")
    with pytest.raises(TooManyRequests):
        setup.token("alice", source="192.0.2.1")


def test_the_source_limit_holds_across_usernames(setup: Setup) -> None:
    for i in range(5):
        with pytest.raises(AuthenticationError):
            setup.token(f"user{i}", "Wrong-Password-1a")
    asked = len(setup.provider.sign_ins)
    with pytest.raises(TooManyRequests):
        setup.token("alice")  # a fresh username, the same source
    assert len(setup.provider.sign_ins) == asked
    assert setup.counts("alice") == (0, 5)  # what the refused attempt took was given back
    assert setup.token("alice", source="192.0.2.1")  # another source may


def test_a_challenged_user_gets_forbidden_and_is_not_counted(setup: Setup) -> None:
    setup.provider.challenged.add("alice")
    with pytest.raises(Forbidden):
        setup.token("alice")
    assert setup.counts("alice") == (0, 0)
    with pytest.raises(AuthenticationError):  # a wrong password is still a plain refusal
        setup.token("alice", "Wrong-Password-1a")


@pytest.mark.parametrize(
    "outage", [TransientError("throttled"), ProviderNotFound("no such pool")], ids=["transient", "no-pool"]
)
def test_an_unreachable_provider_is_unavailable_and_not_the_callers_failure(setup: Setup, outage: Exception) -> None:
    setup.provider.outage = outage
    with pytest.raises(SignInUnavailable) as caught:
        setup.token("alice")
    assert PASSWORD not in str(caught.value)
    assert setup.counts("alice") == (0, 0)


def test_an_unexpected_provider_refusal_fails_closed_and_stays_counted(setup: Setup) -> None:
    setup.provider.outage = IdentityError("InvalidParameterException")
    with pytest.raises(SignInUnavailable):
        setup.token("alice")
    assert setup.counts("alice") == (1, 1)


def test_unreachable_counters_fail_closed_without_asking_the_provider(setup: Setup) -> None:
    setup.attempts.fail = True
    with pytest.raises(SignInUnavailable):
        setup.token("alice")
    assert setup.provider.sign_ins == []


def test_without_a_provider_sign_in_is_not_configured() -> None:
    attempts = InMemoryAttemptCounter()
    service = SignInService(None, attempts)
    assert not service.configured
    with pytest.raises(SignInNotConfigured):
        service.access_token(Credentials("alice", PASSWORD), "203.0.113.7")
    with pytest.raises(SignInUnavailable):  # it is a kind of unavailable (503)
        service.access_token(Credentials("alice", PASSWORD), "203.0.113.7")


def test_concurrent_failures_never_pass_the_limit() -> None:
    setup = Setup(per_username=3, per_source=100)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            setup.token("alice", "Wrong-Password-1a")
        except Exception as exc:
            with lock:
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("AuthenticationError") == 3
    assert outcomes.count("TooManyRequests") == 17
    assert len(setup.provider.sign_ins) == 3
