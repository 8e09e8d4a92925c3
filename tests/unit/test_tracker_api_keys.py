"""ApiKeyService over the in-memory record store, with a fake clock (chalicelib.tracker.api_keys)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pytest

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.domain import ANONYMOUS, User
from chalicelib.errors import AuthenticationError, Conflict, Forbidden, NotFound, TooManyRequests, ValidationError
from chalicelib.tracker import keys
from chalicelib.tracker.api_keys import KEY_KIND, LOCKOUT_KIND, SESSION_KIND, ApiKeyService
from chalicelib.tracker.topics import USER_MANAGEMENT
from tests.fakes.facility import InMemoryFacilityStore

T0 = 1_000_000.0  # window 1111 of 900 s: it ends at 1_000_800
ALICE = User("alice")
BOB = User("bob")
MANAGER = User("mallory", topics=frozenset({USER_MANAGEMENT}))
ADMIN = User("root", is_admin=True)
HERE, THERE = "192.0.2.1", "198.51.100.7"


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


class RecordingStore(InMemoryFacilityStore):
    """Remembers every save and delete: (operation, kind, id, updated_by)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.writes: list[tuple[str, str, int, str]] = []

    def save(self, record: FacilityRecord, expected_version: int) -> None:
        super().save(record, expected_version)
        self.writes.append(("save", record.kind, record.id, record.updated_by))

    def delete(self, kind: str, id: int, expected_version: int) -> None:
        super().delete(kind, id, expected_version)
        self.writes.append(("delete", kind, id, ""))


@dataclass
class World:
    clock: Clock = field(default_factory=Clock)
    users: set[str] = field(default_factory=lambda: {"alice", "bob", "mallory", "root"})
    store: RecordingStore = field(init=False)
    service: ApiKeyService = field(init=False)

    def __post_init__(self) -> None:
        self.store = RecordingStore(self.clock)
        self.service = self.make()

    def make(self, **options: int) -> ApiKeyService:
        return ApiKeyService(self.store, user_exists=self.users.__contains__, clock=self.clock, **options)


@pytest.fixture
def world() -> World:
    return World()


def wrong(presented: str) -> str:
    """A key or session token with one character of its secret changed."""
    head, _, secret = presented.rpartition(".")
    return f"{head}.{'B' if secret[0] == 'A' else 'A'}{secret[1:]}"


# -- create, list, revoke ------------------------------------------------------------------


def test_a_new_key_is_shown_once_and_works(world: World) -> None:
    view, presented = world.service.create(ALICE, "alice", " laptop ")
    key_id, secret = keys.parse_key(presented)
    assert view == {"key_id": key_id, "name": "laptop", "created_at": T0, "last_used_at": None}
    assert world.service.authenticate(presented, HERE) == "alice"
    [stored] = world.store.all(KEY_KIND)
    assert stored.lists == ("owner=alice", None)
    assert stored.claims == (f"api_key|key_id={key_id}", "api_key|owner=alice|name=laptop")
    assert stored.updated_by == "alice"
    assert keys.verify(secret, stored.fields["salt"], stored.fields["hash"])
    assert secret not in json.dumps(dict(stored.fields))


def test_keys_are_listed_oldest_first_without_salt_or_hash(world: World) -> None:
    first, _ = world.service.create(ALICE, "alice", "ci")
    world.clock.now = T0 + 5
    second, _ = world.service.create(MANAGER, "alice", "laptop")
    world.service.create(BOB, "bob", "bob's")
    listed = world.service.list(ALICE, "alice")
    assert listed == [first, second]
    assert [v["created_at"] for v in listed] == [T0, T0 + 5]
    assert all(set(v) == {"key_id", "name", "created_at", "last_used_at"} for v in listed)
    salts = {r.fields["salt"] for r in world.store.all(KEY_KIND)}
    assert len(salts) == 3


def test_last_used_at_is_kept_at_a_resolution(world: World) -> None:
    _, presented = world.service.create(ALICE, "alice", "ci")
    world.clock.now = T0 + 10
    world.service.authenticate(presented, HERE)
    assert world.service.list(ALICE, "alice")[0]["last_used_at"] == T0 + 10
    world.clock.now = T0 + 69
    world.service.authenticate(presented, HERE)
    assert world.service.list(ALICE, "alice")[0]["last_used_at"] == T0 + 10
    world.clock.now = T0 + 70
    world.service.authenticate(presented, HERE)
    assert world.service.list(ALICE, "alice")[0]["last_used_at"] == T0 + 70
    assert world.store.all(KEY_KIND)[0].version == 3


def test_a_revoked_key_fails_and_its_record_names_the_revoker_last(world: World) -> None:
    _, kept = world.service.create(ALICE, "alice", "kept")
    view, presented = world.service.create(ALICE, "alice", "laptop")
    record_id = next(r.id for r in world.store.all(KEY_KIND) if r.fields["name"] == "laptop")
    world.service.revoke(MANAGER, "alice", view["key_id"])
    assert world.store.writes[-2:] == [("save", KEY_KIND, record_id, "mallory"), ("delete", KEY_KIND, record_id, "")]
    with pytest.raises(AuthenticationError, match=r"^invalid API key$"):
        world.service.authenticate(presented, HERE)
    assert [v["name"] for v in world.service.list(ALICE, "alice")] == ["kept"]
    assert world.service.authenticate(kept, HERE) == "alice"
    with pytest.raises(NotFound):
        world.service.revoke(ALICE, "alice", view["key_id"])


def test_a_key_is_revoked_only_under_its_owner(world: World) -> None:
    view, presented = world.service.create(ALICE, "alice", "laptop")
    with pytest.raises(NotFound):
        world.service.revoke(BOB, "bob", view["key_id"])
    for bad in ("", "not-a-key-id", view["key_id"].upper(), "0" * 16):
        with pytest.raises(NotFound):
            world.service.revoke(ALICE, "alice", bad)
    assert world.service.authenticate(presented, HERE) == "alice"


def test_names_are_unique_per_owner_free_again_once_revoked_and_up_to_80_chars(world: World) -> None:
    view, _ = world.service.create(ALICE, "alice", "laptop")
    with pytest.raises(Conflict, match=r"^alice has an API key named 'laptop' already$"):
        world.service.create(ALICE, "alice", "laptop ")
    world.service.create(BOB, "bob", "laptop")
    world.service.create(ALICE, "alice", "Laptop")  # compared exactly
    world.service.revoke(ALICE, "alice", view["key_id"])
    again, _ = world.service.create(ALICE, "alice", "laptop")
    assert again["name"] == "laptop"
    assert world.service.create(ALICE, "alice", "x" * 80)[0]["name"] == "x" * 80
    assert world.service.create(ALICE, "alice", "my ci runner é")[0]["name"] == "my ci runner é"


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, "a\nb", "tab\there", "\u200b", None, 7])
def test_a_name_is_1_to_80_printable_characters(world: World, name: object) -> None:
    with pytest.raises(ValidationError) as caught:
        world.service.create(ALICE, "alice", name)  # type: ignore[arg-type]
    assert caught.value.field == "name"
    assert world.store.all(KEY_KIND) == []


def test_a_user_has_at_most_max_keys(world: World) -> None:
    service = world.make(max_keys_per_user=2)
    first, _ = service.create(ALICE, "alice", "one")
    service.create(ALICE, "alice", "two")
    with pytest.raises(Conflict, match=r"^alice has 2 API keys, the most allowed; revoke one first$"):
        service.create(ALICE, "alice", "three")
    service.create(BOB, "bob", "one")
    service.revoke(ALICE, "alice", first["key_id"])
    assert service.create(ALICE, "alice", "three")[0]["name"] == "three"


def test_revoke_all_revokes_every_key_even_of_a_deleted_user(world: World) -> None:
    presented = [world.service.create(ALICE, "alice", n)[1] for n in ("a", "b", "c")]
    _, bobs = world.service.create(BOB, "bob", "a")
    token = world.service.open_session(presented[0], HERE)["token"]
    world.users.discard("alice")
    assert world.service.revoke_all(MANAGER, "alice") == 3
    assert world.service.revoke_all(MANAGER, "alice") == 0
    world.users.add("alice")
    for p in presented:
        with pytest.raises(AuthenticationError):
            world.service.authenticate(p, HERE)
    with pytest.raises(AuthenticationError):
        world.service.authenticate_session(token, HERE)
    assert world.store.all(SESSION_KIND) == []
    assert world.service.authenticate(bobs, HERE) == "bob"


# -- authorization ------------------------------------------------------------------------


@pytest.mark.parametrize("user", [ALICE, MANAGER, ADMIN], ids=["owner", "manager", "admin"])
def test_the_owner_and_user_managers_manage_keys(world: World, user: User) -> None:
    view, _ = world.service.create(user, "alice", "k")
    assert world.service.list(user, "alice") == [view]
    world.service.revoke(user, "alice", view["key_id"])
    assert world.service.revoke_all(user, "alice") == 0


@pytest.mark.parametrize(
    "user",
    [
        BOB,
        User(ANONYMOUS),
        User("alice", deleted=True),
        User("mallory", topics=frozenset({USER_MANAGEMENT}), deleted=True),
    ],
    ids=["other", "anonymous", "deleted-owner", "deleted-manager"],
)
def test_anyone_else_is_forbidden(world: World, user: User) -> None:
    view, _ = world.service.create(ALICE, "alice", "k")
    with pytest.raises(Forbidden):
        world.service.create(user, "alice", "other")
    with pytest.raises(Forbidden):
        world.service.create(user, "alice", "")  # authorization comes before validation
    with pytest.raises(Forbidden):
        world.service.list(user, "alice")
    with pytest.raises(Forbidden):
        world.service.revoke(user, "alice", view["key_id"])
    with pytest.raises(Forbidden):
        world.service.revoke_all(user, "alice")
    assert world.service.list(ALICE, "alice") == [view]


def test_an_unknown_owner_is_not_found_only_after_authorization(world: World) -> None:
    with pytest.raises(NotFound):
        world.service.create(MANAGER, "nobody", "")  # existence before validation
    with pytest.raises(NotFound):
        world.service.list(MANAGER, "nobody")
    with pytest.raises(NotFound):
        world.service.revoke(MANAGER, "nobody", "0" * 16)
    with pytest.raises(Forbidden):
        world.service.list(BOB, "nobody")
    world.users.add(ANONYMOUS)
    with pytest.raises(Forbidden):  # anonymous even for its own name
        world.service.list(User(ANONYMOUS), ANONYMOUS)


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "garbage", "0" * 16, f"dts.{'0' * 16}.{'A' * 64}", f"{'0' * 16}.{'A' * 65}"])
def test_malformed_and_unknown_keys_fail_alike(world: World, text: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        world.service.authenticate(text, HERE)
    assert str(caught.value) == "invalid API key"
    with pytest.raises(AuthenticationError, match=r"^invalid API key$"):
        world.service.open_session(text, HERE)


def test_a_wrong_secret_and_a_gone_owner_fail_as_an_unknown_key(world: World) -> None:
    _, presented = world.service.create(ALICE, "alice", "k")
    with pytest.raises(AuthenticationError, match=r"^invalid API key$"):
        world.service.authenticate(wrong(presented), HERE)
    with pytest.raises(AuthenticationError, match=r"^invalid API key$"):
        world.service.authenticate(keys.present("0123456789abcdef", keys.parse_key(presented)[1]), HERE)
    world.users.discard("alice")
    with pytest.raises(AuthenticationError, match=r"^invalid API key$"):
        world.service.authenticate(presented, HERE)


def test_failures_lock_out_the_key_from_that_source_until_the_window_ends(world: World) -> None:
    service = world.make(max_failures=3)
    _, presented = service.create(ALICE, "alice", "k")
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            service.authenticate(wrong(presented), HERE)
    world.clock.now = T0 + 100
    with pytest.raises(TooManyRequests) as caught:
        service.authenticate(presented, HERE)  # even the right secret
    assert caught.value.retry_after == 700
    with pytest.raises(TooManyRequests):
        service.open_session(presented, HERE)
    assert service.authenticate(presented, THERE) == "alice"  # another source is not limited
    world.clock.now = T0 + 799.6
    with pytest.raises(TooManyRequests) as caught:
        service.authenticate(presented, HERE)
    assert caught.value.retry_after == 1
    world.clock.now = T0 + 800  # the next window
    assert service.authenticate(presented, HERE) == "alice"


def test_failures_below_the_limit_do_not_lock_out(world: World) -> None:
    service = world.make(max_failures=3)
    _, presented = service.create(ALICE, "alice", "k")
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            service.authenticate(wrong(presented), HERE)
    assert service.authenticate(presented, HERE) == "alice"
    with pytest.raises(AuthenticationError):
        service.authenticate(wrong(presented), HERE)  # the third: still a plain failure
    with pytest.raises(TooManyRequests):
        service.authenticate(presented, HERE)
    assert world.store.all(LOCKOUT_KIND)[0].fields == {
        "key_id": keys.parse_key(presented)[0],
        "source_digest": hashlib.sha256(HERE.encode()).hexdigest()[:16],
        "window": 1111,
        "until": 1_000_800,
    }


def test_unknown_key_ids_are_locked_out_too(world: World) -> None:
    service = world.make(max_failures=2)
    unknown = keys.present(*keys.new_key())
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            service.authenticate(unknown, HERE)
    with pytest.raises(TooManyRequests):
        service.authenticate(unknown, HERE)


def test_expired_lockouts_are_swept_by_the_next_one(world: World) -> None:
    service = world.make(max_failures=1)
    _, presented = service.create(ALICE, "alice", "k")
    with pytest.raises(AuthenticationError):
        service.authenticate(wrong(presented), HERE)
    with pytest.raises(AuthenticationError):
        service.authenticate(wrong(presented), THERE)
    assert len(world.store.all(LOCKOUT_KIND)) == 2
    world.clock.now = T0 + 900
    with pytest.raises(AuthenticationError):
        service.authenticate(wrong(presented), HERE)
    assert [r.fields["window"] for r in world.store.all(LOCKOUT_KIND)] == [1112]


# -- sessions ---------------------------------------------------------------------------------


def test_a_session_works_until_it_expires(world: World) -> None:
    _, presented = world.service.create(ALICE, "alice", "k")
    opened = world.service.open_session(presented, HERE)
    assert set(opened) == {"token", "token_type", "expires_in", "expires_at"}
    assert (opened["token_type"], opened["expires_in"], opened["expires_at"]) == ("Bearer", 3600, T0 + 3600)
    session_id, secret = keys.parse_session_token(opened["token"])
    [stored] = world.store.all(SESSION_KIND)
    assert stored.fields["session_id"] == session_id
    assert stored.fields["key_id"] == keys.parse_key(presented)[0]
    assert secret not in json.dumps(dict(stored.fields))
    world.clock.now = T0 + 3599.5
    assert world.service.authenticate_session(opened["token"], HERE) == "alice"
    world.clock.now = T0 + 3600
    with pytest.raises(AuthenticationError, match=r"^invalid or expired session$"):
        world.service.authenticate_session(opened["token"], HERE)
    assert world.store.all(SESSION_KIND) == []


def test_revoking_the_key_ends_its_sessions_only(world: World) -> None:
    view, presented = world.service.create(ALICE, "alice", "k")
    _, other = world.service.create(ALICE, "alice", "other")
    tokens = [world.service.open_session(presented, HERE)["token"] for _ in range(2)]
    kept = world.service.open_session(other, HERE)["token"]
    world.service.revoke(ALICE, "alice", view["key_id"])
    for token in tokens:
        with pytest.raises(AuthenticationError, match=r"^invalid or expired session$"):
            world.service.authenticate_session(token, HERE)
    assert world.service.authenticate_session(kept, HERE) == "alice"
    assert len(world.store.all(SESSION_KIND)) == 1
    assert all(w[3] in ("alice", "") for w in world.store.writes)


def test_a_session_whose_key_vanished_or_owner_went_is_refused(world: World) -> None:
    _, presented = world.service.create(ALICE, "alice", "k")
    _, other = world.service.create(ALICE, "alice", "other")
    token, kept = (world.service.open_session(p, HERE)["token"] for p in (presented, other))
    key = next(r for r in world.store.all(KEY_KIND) if r.fields["name"] == "k")
    world.store.delete(KEY_KIND, key.id, key.version)  # a revocation that stopped before the sessions
    with pytest.raises(AuthenticationError, match=r"^invalid or expired session$"):
        world.service.authenticate_session(token, HERE)
    assert world.service.authenticate_session(kept, HERE) == "alice"
    world.users.discard("alice")
    with pytest.raises(AuthenticationError, match=r"^invalid or expired session$"):
        world.service.authenticate_session(kept, HERE)


def test_expired_sessions_of_a_key_are_swept_when_it_opens_one(world: World) -> None:
    _, presented = world.service.create(ALICE, "alice", "k")
    world.service.open_session(presented, HERE)
    world.clock.now = T0 + 3600
    world.service.open_session(presented, HERE)
    assert [r.fields["created_at"] for r in world.store.all(SESSION_KIND)] == [T0 + 3600]


def test_wrong_unknown_and_malformed_session_tokens_fail_alike(world: World) -> None:
    _, presented = world.service.create(ALICE, "alice", "k")
    token = world.service.open_session(presented, HERE)["token"]
    secret = keys.parse_session_token(token)[1]
    for text in (wrong(token), keys.present_session("0" * 16, secret), presented, "dts.x", "", token + "x"):
        with pytest.raises(AuthenticationError) as caught:
            world.service.authenticate_session(text, HERE)
        assert str(caught.value) == "invalid or expired session"
    assert world.service.authenticate_session(token, HERE) == "alice"


def test_closing_a_session_ends_it_and_never_fails(world: World) -> None:
    _, presented = world.service.create(ALICE, "alice", "k")
    token = world.service.open_session(presented, HERE)["token"]
    world.service.close_session(wrong(token))  # a wrong secret closes nothing
    assert world.service.authenticate_session(token, HERE) == "alice"
    world.service.close_session(token)
    with pytest.raises(AuthenticationError):
        world.service.authenticate_session(token, HERE)
    [session_save] = [w for w in world.store.writes if w[1] == SESSION_KIND and w[0] == "save"]
    assert session_save[3] == "alice"
    for text in (token, "garbage", "", presented):
        world.service.close_session(text)
    assert world.service.authenticate(presented, HERE) == "alice"
