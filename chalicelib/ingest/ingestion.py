"""Auto-registration: S3 object events → the same catalogue service the API uses.

An event is a hint: every decision re-reads the current state from S3, so a repeated or
late event can never install old state, and registration is idempotent by content, so a
duplicate changes nothing and writes no audit row.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.adapters.object_storage import ObjectMeta, ObjectStorage, TooLarge
from chalicelib.adapters.queues import MessageQueue
from chalicelib.catalogue.datasets import CatalogueService
from chalicelib.catalogue.validation import Registration
from chalicelib.domain import INCOMPLETE, INGEST_ACTOR, REFUSED, User
from chalicelib.errors import CatalogueError, InvalidDocument, NotFound, VersionConflict
from chalicelib.ingest.bags.errors import BagIncomplete, BagRefused
from chalicelib.ingest.bags.limits import DEFAULT_LIMITS, BagLimits
from chalicelib.ingest.bags.registration import bag_uuid, keep_times, placeholder
from chalicelib.ingest.bags.s3_reader import read_folder_bag, read_serialized_bag
from chalicelib.ingest.bags.targets import ARCHIVE_SUFFIXES, BAG_MARKER, BagTarget, bag_target
from chalicelib.ingest.events import ObjectEvent, parse_notification
from chalicelib.ingest.layouts import (
    SIDECAR_NAMES,
    DtoolTarget,
    LayoutError,
    SidecarTarget,
    dtool_target,
    is_dtool_object,
    problem_placeholder,
    read_dtool,
    read_sidecar,
    sidecar_target,
    sidecar_uuid,
)
from chalicelib.ingest.snapshot import SnapshotStore, prefix_end
from chalicelib.metrics import emf_line
from chalicelib.reasons import MAX_REASONS
from chalicelib.resources import INGEST_MAX_RECEIVE_COUNT

log = logging.getLogger(__name__)

# Registered base URIs are re-read at most this often by a warm handler: a new base URI
# takes up to this long to be recognised (a deleted one, likewise, to be dropped).
BASE_URI_TTL_SECONDS = 5.0
BASE_URI_MISS_REFRESH_SECONDS = 1.0
METRIC_NAMESPACE = "Catalogue/Ingest"
# A folder bag still missing files is retried until this receive, then recorded as
# incomplete (one short of the queue's maxReceiveCount, so it never reaches the DLQ).
INCOMPLETE_AFTER_RECEIVES = INGEST_MAX_RECEIVE_COUNT - 1
# readings of S3 per event when its registration keeps losing races (then the event is retried)
RACE_ATTEMPTS = 5


def ingest_user(base_uri: str) -> User:
    """The actor of auto-registration from an upload under ``base_uri`` (never a stored user).

    It has the rights of a registrar of that one base URI and no other: whatever an upload
    names (a bag's External-Identifier, a dtool uuid), it can only reach the entry of that
    uuid under the base URI it was uploaded to.
    """
    base = frozenset({base_uri})
    return User(username=INGEST_ACTOR, search_base_uris=base, register_base_uris=base)


@dataclass(frozen=True)
class Deposits:
    """Where deposited SIPs (bags) arrive, and what to do with them (the archive service's
    ``deposit_registered`` / ``deposit_refused``)."""

    base_uri: str
    registered: Callable[[User, str], object]
    refused: Callable[[User, str, str, str, tuple[str, ...]], object]


class IngestFailed(Exception):
    """A message whose objects could not be registered; it is retried, then dead-lettered."""


@dataclass(frozen=True)
class Outcome:
    # created | replica-added | updated | unchanged | removed | proto | ignored (done);
    # rejected | incomplete (recorded on the dataset, not retried); refused | waiting (retried)
    status: str
    uri: str = ""
    uuid: str = ""
    reason: str = ""


class IngestService:
    def __init__(
        self,
        store: ObjectStorage,
        catalogue: CatalogueService,
        repo: Repository,
        *,
        clock: Callable[[], float] = time.monotonic,
        base_uri_ttl: float = BASE_URI_TTL_SECONDS,
        limits: BagLimits = DEFAULT_LIMITS,
        tmp_root: str | None = None,
        metrics: Callable[[str], None] = print,
        deposits: Deposits | None = None,
        passive_base_uris: frozenset[str] = frozenset(),
    ) -> None:
        self._passive = passive_base_uris
        self._deposits = deposits
        self._metrics = metrics
        self._limits = limits
        self._tmp_root = tmp_root
        self.store = store
        # the service that reads S3 itself (``using`` copies keep pointing here): a
        # registration that met a race or a tombstone is read again through it, never
        # through a listing snapshot, which may be older than the tombstone
        self._direct = self
        self._catalogue = catalogue
        self._repo = repo
        self._clock = clock
        self._ttl = base_uri_ttl
        self._base_uris: tuple[float, list[str]] = (float("-inf"), [])
        self.counts: Counter[str] = Counter()

    def handle_message(self, body: str, receive_count: int = 1) -> list[Outcome]:
        """Handle one SQS message body (one S3 notification).

        Raises :class:`IngestFailed` when an event's objects could not be made into a
        dataset: the message is then delivered again (a manifest may still be uploading)
        and, after ``maxReceiveCount`` receives, lands in the dead-letter queue for an
        operator (``catalogue dlq list|redrive``). Outcomes of the other events stand:
        every outcome is idempotent.
        """
        outcomes = [self.handle(event, receive_count) for event in parse_notification(body)]
        for o in outcomes:
            self.counts[o.status] += 1
            # %r: keys and reasons come from uploaders; a newline in a key must not forge a line
            log.info("ingest %s %r %r", o.status, o.uri, o.reason)
        self._emit(Counter(o.status for o in outcomes))
        retry = [o for o in outcomes if o.status in ("refused", "waiting")]
        if retry:
            raise IngestFailed("; ".join(f"{o.uri}: {o.status}: {o.reason}" for o in retry))
        return outcomes

    def _emit(self, counts: Counter[str]) -> None:
        """One CloudWatch Embedded Metric Format line per outcome (``Catalogue/Ingest``,
        metric ``Events``, dimension ``Outcome``): ignored uploads are counted, not errors."""
        for status, n in sorted(counts.items()):
            self._metrics(emf_line(METRIC_NAMESPACE, {"Events": n}, {"Outcome": status}, time.time()))

    def using(self, store: ObjectStorage) -> IngestService:
        """This service reading through ``store`` (a listing snapshot) instead; the rest is shared."""
        scoped = copy.copy(self)
        scoped.store = store
        return scoped

    def handle(self, event: ObjectEvent, receive_count: int = 1) -> Outcome:
        outcome = self._resolve_and_register(event, receive_count)
        self._deposited(outcome)
        return outcome

    def _resolve_and_register(self, event: ObjectEvent, receive_count: int) -> Outcome:
        """Read what S3 holds and register it; after a lost race, read S3 again.

        A registration is what the objects were when they were read: written over a change
        that won meanwhile (a deletion, from the event of the last object removed), it would
        bring back a dataset whose objects are gone. So a conflict is never merged with the
        old reading, and a deleted entry is brought back only by a reading of S3 made after
        its tombstone was seen: the event is resolved again from S3.
        """
        revivable: int | None = None  # the tombstone seen before the latest reading of S3
        for _ in range(RACE_ATTEMPTS):
            found = self._resolve(event, receive_count)
            if not isinstance(found, Registration):
                return found
            try:
                user = ingest_user(found.base_uri)
                result = self._catalogue.register(user, found, attempts=1, guard_revival=True, revivable=revivable)
            except VersionConflict as exc:
                revivable = exc.current_version
                continue
            except InvalidDocument as exc:
                return self._nonconforming(found, exc)
            except CatalogueError as exc:
                return Outcome("refused", found.uri, found.content.uuid, str(exc))
            return Outcome(result.status, found.uri, found.content.uuid)
        uri = f"s3://{event.bucket}/{event.key}"
        return Outcome("waiting", uri, reason="the dataset changed on every reading; the event is retried")

    def _deposited(self, outcome: Outcome) -> None:
        """A bag under the deposit base URI is a SIP: archive it once registered, or record
        the archive as rejected when the bag was refused."""
        if self._deposits is None or not outcome.uri.startswith(self._deposits.base_uri + "/"):
            return
        if outcome.status in ("created", "updated", "replica-added", "unchanged"):
            self._deposits.registered(ingest_user(self._deposits.base_uri), outcome.uuid)
        elif outcome.status == "rejected" and outcome.uuid:
            reasons = tuple(outcome.reason.split("; "))
            base_uri = self._deposits.base_uri
            self._deposits.refused(ingest_user(base_uri), outcome.uuid, outcome.uri, base_uri, reasons)

    def handle_many(self, events: Sequence[ObjectEvent], receive_count: int = 1) -> list[Outcome]:
        """:meth:`handle` for each event, with the registrations written by one
        :meth:`CatalogueService.register_many` (the bulk index's path). A registration that
        lost a race or met a tombstone takes :meth:`handle`'s path: S3 is read again."""
        found = [self._resolve(event, receive_count) for event in events]
        by_base: dict[str, list[Registration]] = {}
        for f in found:
            if isinstance(f, Registration):
                by_base.setdefault(f.base_uri, []).append(f)
        # each base URI's registrations with the rights of that base URI only
        results = {
            base_uri: iter(self._catalogue.register_many(ingest_user(base_uri), regs, read_from_storage=True))
            for base_uri, regs in by_base.items()
        }
        outcomes: list[Outcome] = []
        for event, f in zip(events, found, strict=True):
            if not isinstance(f, Registration):
                outcomes.append(f)
            elif isinstance(result := next(results[f.base_uri]), VersionConflict):
                outcomes.append(self._direct._resolve_and_register(event, receive_count))
            elif isinstance(result, InvalidDocument):
                outcomes.append(self._nonconforming(f, result))
            elif isinstance(result, CatalogueError):
                outcomes.append(Outcome("refused", f.uri, f.content.uuid, str(result)))
            else:
                outcomes.append(Outcome(result, f.uri, f.content.uuid))
        for outcome in outcomes:
            self._deposited(outcome)
        return outcomes

    def _resolve(self, event: ObjectEvent, receive_count: int) -> Outcome | Registration:
        """What an event comes to: a registration to write, or an outcome already final."""
        base_uri, refreshed = self._base_uri_for(event.bucket, event.key)
        if base_uri is None:
            if not refreshed and receive_count == 1:
                # The cached base URIs could not be re-read for this miss (at most once a
                # second): a base URI registered just before the upload may be missing. One
                # retry settles it: any re-read after this receive sees every base URI
                # registered before the event.
                return Outcome("waiting", f"s3://{event.bucket}/{event.key}", reason="base URIs cached; checking again")
            return Outcome("ignored", f"s3://{event.bucket}/{event.key}", reason="not under a registered base URI")
        if base_uri in self._passive:
            return Outcome(
                "ignored", f"s3://{event.bucket}/{event.key}", reason="the archive is written by the catalogue"
            )
        try:
            if is_dtool_object(event.key):
                return self._dtool(event, base_uri)
            bag = bag_target(self.store, event.bucket, event.key)
            if bag is not None:
                return self._bag(bag, base_uri, receive_count, event.key)
            target = sidecar_target(self.store, event.bucket, event.key)
            if target is not None:
                if target.uri == base_uri:
                    return Outcome("ignored", target.uri, reason="a sidecar folder must lie under its base URI")
                return self._sidecar(target, base_uri, f"s3://{event.bucket}/{event.key}")
        except (LayoutError, TooLarge) as exc:
            return Outcome("refused", f"s3://{event.bucket}/{event.key}", reason=str(exc))
        return Outcome("ignored", f"s3://{event.bucket}/{event.key}", reason="no recognised layout")

    def _base_uri_for(self, bucket: str, key: str) -> tuple[str | None, bool]:
        """The registered base URI holding the key, and whether the base URIs were re-read."""
        uri = f"s3://{bucket}/{key}"
        loaded_at, base_uris = self._base_uris
        age = self._clock() - loaded_at
        match = _longest_prefix(uri, base_uris)
        # Re-read when stale, and on a miss (at most once a second) so that a base URI
        # registered a moment ago is recognised at once.
        if age > self._ttl or (match is None and age > BASE_URI_MISS_REFRESH_SECONDS):
            base_uris = [b.base_uri for b in self._repo.list_base_uris()]
            self._base_uris = (self._clock(), base_uris)
            return _longest_prefix(uri, base_uris), True
        return match, False

    def _dtool(self, event: ObjectEvent, base_uri: str) -> Outcome | Registration:
        """``base_uri`` is the longest registered base URI holding the event's key; a dtool
        dataset is registered only when the bucket itself is the longest one holding its objects."""
        target = dtool_target(self.store, event.bucket, event.key)
        if target is None:
            return Outcome("ignored", f"s3://{event.bucket}/{event.key}", reason="dtool data item")
        # by where the dataset's objects lie, not the event's key: dtool also writes a
        # registration key "dtool-<uuid>" at the bucket's root for a dataset under a prefix
        holder = _longest_prefix(f"s3://{event.bucket}/{target.prefix}{target.uuid}", self._base_uris[1]) or base_uri
        if holder != f"s3://{event.bucket}":
            return self._nested_dtool(event, target, holder)
        try:
            registration = read_dtool(self.store, target, base_uri)
        except (LayoutError, TooLarge) as exc:
            placeholder = problem_placeholder(target.uuid, target.uuid, target.uri, base_uri)
            return self._refused(placeholder, f"s3://{event.bucket}/{event.key}", str(exc))
        if registration is None:
            if self.store.head(event.bucket, target.key("dtool")) is None:
                return self._remove(target.uuid, target.uri, base_uri)
            return Outcome("proto", target.uri, target.uuid, "not frozen yet")
        return registration

    def _nested_dtool(self, event: ObjectEvent, target: DtoolTarget, base_uri: str) -> Outcome:
        """A dtool dataset below a nested base URI is refused, never registered on the bucket.

        dtool addresses a dataset as ``s3://bucket/<uuid>`` whatever its key prefix, a URI
        that only the bucket's own base URI can hold; registering it there would show a
        dataset uploaded under ``s3://bucket/restricted`` to everyone who may search the
        bucket. It is recorded as refused under the nested base URI (its registrars see why).
        """
        uri = f"s3://{event.bucket}/{target.prefix}{target.uuid}"
        if self.store.head(event.bucket, target.key("dtool")) is None:
            return self._remove(target.uuid, uri, base_uri)
        reason = (
            f"a dtool dataset under the nested base URI {base_uri} is not registered: dtool names it "
            f"{target.uri}, which only s3://{event.bucket} can hold; copy it to a bucket registered on its own"
        )
        placeholder = problem_placeholder(target.uuid, target.uuid, uri, base_uri)
        return self._refused(placeholder, f"s3://{event.bucket}/{event.key}", reason)

    def _sidecar(self, target: SidecarTarget, base_uri: str, key_uri: str) -> Outcome | Registration:
        try:
            registration = read_sidecar(self.store, target, base_uri)
        except (LayoutError, TooLarge) as exc:
            placeholder = problem_placeholder(
                sidecar_uuid(target.uri), target.uri.rsplit("/", 1)[-1], target.uri, base_uri
            )
            return self._refused(placeholder, key_uri, str(exc))
        if registration is None:
            return self._remove(sidecar_uuid(target.uri), target.uri, base_uri)
        return registration

    def _bag(self, target: BagTarget, base_uri: str, receive_count: int, key: str) -> Outcome | Registration:
        if target.uri == base_uri:
            return Outcome("ignored", target.uri, reason="a bag must lie under its base URI")
        try:
            if target.serialized:
                registration = read_serialized_bag(self.store, target, base_uri, self._limits, self._tmp_root)
            else:
                registration = read_folder_bag(self.store, target, base_uri, self._limits, self._catalogue.holds)
        except BagIncomplete as exc:
            if "/" in key[len(target.key) + 1 :]:
                # A payload file: the upload that completes the bag is the last one, and its
                # event sees the whole bag (S3 lists what was written before), so payload
                # events are not retried; the tag files' events are, to record `incomplete`.
                return Outcome("ignored", target.uri, bag_uuid(target.uri), f"{len(exc.missing)} files still missing")
            if receive_count < INCOMPLETE_AFTER_RECEIVES:
                # still uploading: fail the message so that it comes back after its visibility timeout
                return Outcome("waiting", target.uri, bag_uuid(target.uri), f"{len(exc.missing)} files missing")
            return self._problem(target, base_uri, INCOMPLETE, tuple(f"missing: {m}" for m in exc.missing[:50]))
        except BagRefused as exc:
            return self._problem(target, base_uri, REFUSED, tuple(exc.reasons[:50]))
        if registration is None:
            return self._remove(bag_uuid(target.uri), target.uri, base_uri)
        stored = self._repo.get_dataset(registration.content.uuid, registration.base_uri)
        if stored is not None and not stored.deleted and stored.replica(registration.uri) is not None:
            registration = keep_times(registration, stored.content)
        return registration

    def _problem(self, target: BagTarget, base_uri: str, status: str, reasons: tuple[str, ...]) -> Outcome:
        """Record why an upload is not registered; it is not retried (the reasons say what to fix).
        A repeated event gives the same outcome again (the record itself is unchanged)."""
        self._catalogue.record_problem(ingest_user(base_uri), placeholder(target, base_uri), status, reasons)
        return Outcome(
            "rejected" if status == REFUSED else status,
            target.uri,
            bag_uuid(target.uri),
            "; ".join(reasons)[:500],
        )

    def _nonconforming(self, reg: Registration, exc: InvalidDocument) -> Outcome:
        """Annotations that break the annotation schemas the dataset or its project declares:
        recorded as the dataset's status ``refused`` with one reason per problem (its
        registrars see why; a live registered entry is kept as it is) and not retried, as a
        refused bag: only a new upload of the annotations, or a change of the schema and
        another event, can fix it. The refused record holds no annotations."""
        shown = exc.problems[:MAX_REASONS]
        reasons = tuple(f"{p.get('path') or '/'}: {p.get('message', '')}" for p in shown)
        if len(exc.problems) > len(shown):
            reasons += (f"... and {len(exc.problems) - len(shown)} more problems",)
        c = reg.content
        placeholder = problem_placeholder(c.uuid, c.name, reg.uri, reg.base_uri, c.tags)
        self._catalogue.record_problem(ingest_user(reg.base_uri), placeholder, REFUSED, reasons)
        return Outcome("rejected", reg.uri, c.uuid, "; ".join(reasons)[:500])

    def _refused(self, placeholder: Registration, key_uri: str, reason: str) -> Outcome:
        """Metadata the catalogue cannot accept (too large, not parseable, not valid): recorded
        as the dataset's status ``refused`` for its registrars, and the event fails so that it
        is retried and, still refused, dead-lettered for an operator."""
        self._catalogue.record_problem(ingest_user(placeholder.base_uri), placeholder, REFUSED, (reason,))
        return Outcome("refused", key_uri, reason=reason)

    def _remove(self, uuid: str, uri: str, base_uri: str) -> Outcome:
        try:
            self._catalogue.delete_replica(ingest_user(base_uri), uuid, uri)
        except NotFound:
            return Outcome("ignored", uri, uuid, "not registered")
        return Outcome("removed", uri, uuid)


def _longest_prefix(uri: str, base_uris: list[str]) -> str | None:
    matches = [b for b in base_uris if uri.startswith(b + "/")]
    return max(matches, key=len) if matches else None


def trigger_keys(keys: Iterable[str]) -> Iterator[str]:
    """The one key per dataset that makes the ingest service read it: a dtool dataset's admin
    metadata, a sidecar, a serialized bag, a folder bag's ``bagit.txt``."""
    for key in keys:
        leaf = key.rsplit("/", 1)[-1]
        if (
            (is_dtool_object(key) and leaf == "dtool")
            or leaf in SIDECAR_NAMES
            or leaf == BAG_MARKER
            or key.lower().endswith(ARCHIVE_SUFFIXES)
        ):
            yield key


@dataclass
class IndexReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    problems: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes[outcome.status] += 1
        if outcome.status in ("refused", "rejected", "incomplete", "waiting"):
            self.problems.append(outcome)


# The bulk index reads the listing in windows of this many objects (the memory bound) and
# registers datasets in chunks of this many (one batch read of stamps per chunk).
INDEX_WINDOW_OBJECTS = 10_000
INDEX_CHUNK = 50


def index_prefix(
    ingest: IngestService,
    store: ObjectStorage,
    bucket: str,
    prefix: str,
    *,
    concurrency: int = 8,
    progress: Callable[[Outcome], None] | None = None,
) -> IndexReport:
    """Register every dataset already stored under ``s3://bucket/prefix`` (bulk index).

    Uses the same recognition and registration as the event handler, lists once with
    pagination (recognition answers its HEADs and listings from that listing, window by
    window), and handles chunks of datasets with bounded concurrency, each chunk with one
    batch read of what is stored; safe to run again (idempotent).
    """
    report = IndexReport()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for snapshot in _snapshots(store, bucket, prefix):
            keys = list(trigger_keys(o.key for o in snapshot.listed))
            scoped = ingest.using(snapshot)
            chunks = [
                # the final receive: an incomplete folder bag is recorded rather than retried
                [ObjectEvent(bucket=bucket, key=k, kind="created") for k in keys[i : i + INDEX_CHUNK]]
                for i in range(0, len(keys), INDEX_CHUNK)
            ]
            for outcomes in pool.map(scoped.handle_many, chunks, [INGEST_MAX_RECEIVE_COUNT] * len(chunks)):
                for outcome in outcomes:
                    report.add(outcome)
                    if progress:
                        progress(outcome)
    return report


def _snapshots(store: ObjectStorage, bucket: str, prefix: str) -> Iterator[SnapshotStore]:
    """The listing of ``prefix`` as consecutive snapshots of at most INDEX_WINDOW_OBJECTS."""
    low = prefix
    window: list[ObjectMeta] = []
    for obj in store.list(bucket, prefix):
        window.append(obj)
        if len(window) == INDEX_WINDOW_OBJECTS:
            high = obj.key + "\0"  # the least key after this one
            yield SnapshotStore(store, bucket, window, low, high)
            low, window = high, []
    yield SnapshotStore(store, bucket, window, low, prefix_end(prefix))


# One invocation of the async bulk index queues at most this many datasets, then queues
# its own continuation: every invocation stays short whatever the bucket holds.
INDEX_EVENTS_PER_INVOCATION = 5_000
INDEX_CONTINUATION = "CatalogueIndexContinuation"
INDEX_SEND_BATCH = 10  # one SQS batch: messages start flowing while the listing goes on


def enqueue_index(
    queue: MessageQueue,
    store: ObjectStorage,
    base_uri: str,
    after: str = "",
    limit: int = INDEX_EVENTS_PER_INVOCATION,
) -> tuple[int, str | None]:
    """One step of the asynchronous bulk index of an S3 base URI: one S3-shaped event per
    dataset found after the key ``after``, sent to the ingest queue so that the same handler
    registers them. Past ``limit`` datasets it queues a continuation message instead (see
    :func:`parse_continuation`). Messages go out ten at a time while the listing goes on.
    Returns (datasets queued, key the continuation starts after)."""
    bucket, _, prefix = base_uri.removeprefix("s3://").partition("/")
    queued = 0
    batch: list[str] = []
    for obj in store.list(bucket, f"{prefix}/" if prefix else "", after):
        if not next(trigger_keys([obj.key]), None):
            continue
        if queued + len(batch) == limit:
            queue.send_batch([*batch, continuation_body(base_uri, after)])
            return queued + len(batch), after
        record = {
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(obj.key)}},
        }
        batch.append(json.dumps({"Records": [record]}))
        after = obj.key
        if len(batch) == INDEX_SEND_BATCH:
            queue.send_batch(batch)
            queued += len(batch)
            batch = []
    if batch:
        queue.send_batch(batch)
        queued += len(batch)
    return queued, None


def continuation_body(base_uri: str, after: str) -> str:
    return json.dumps({INDEX_CONTINUATION: {"base_uri": base_uri, "after": after}})


def parse_continuation(body: str) -> tuple[str, str] | None:
    """``(base_uri, after)`` when an ingest message continues a bulk index, else ``None``."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    step = doc.get(INDEX_CONTINUATION) if isinstance(doc, dict) else None
    if (
        not isinstance(step, dict)
        or not isinstance(step.get("base_uri"), str)
        or not isinstance(step.get("after"), str)
    ):
        return None
    return step["base_uri"], step["after"]
