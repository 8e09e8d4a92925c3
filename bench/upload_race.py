"""The flagship path side by side (issue 24): real ``dtool copy`` into the local S3 -> searchable,
ours (S3 -> SQS -> our ingest handler) against dservercore 0.22 with dserver-notification-plugin
0.4.3 fed the same S3 events.

    .venv/bin/python bench/upload_race.py --copies 200      # bench/results/<date>-upload-race.{json,md}

``run.py`` calls :func:`run` in its ours-only part (``--copies N``; 0 skips).

How it runs:

1. Our local stack (:class:`infra.local.stack.LocalStack`) watches one bucket (``bench-race``),
   registered as a base URI the bench user may search: S3 notifications -> the ingest queue ->
   the event runner -> ``app.on_ingest_message``, as ``make run`` wires any bucket.
2. dserver (:class:`dserver_peer.DserverServer`, its own virtualenv, nx-27017, gunicorn with 2
   sync workers) with the notification plugin configured for that bucket
   (:func:`dserver_peer.notify_env`: bucket -> base URI, loopback only, dtool-s3 pointed at the
   same moto server).
3. **How dserver gets the same events**: the bucket's notification configuration gets a second
   queue configuration (same event types, no filter) next to ours, so moto puts every event it
   emits for the bucket into both queues, one message per object event, in the same request
   that wrote the object. A :class:`Forwarder` (``--forwarders`` threads, 4 by default) takes
   each message from the second queue and POSTs its S3 event JSON, one POST per object event,
   to dserver's ``/webhook/notify``, as an SNS HTTP subscription or a webhook target delivers
   S3 events: concurrently, unordered, each once (a failed POST is counted, not retried).
   moto's ``s3:TestEvent`` (no ``Records``) is not forwarded. (AWS refuses two queue
   configurations with overlapping events on one bucket; there the fan-out would be an SNS
   topic or EventBridge. moto delivers to every matching configuration, which is the same
   event stream.)
4. Before the clock: ``--copies`` datasets made on local disk by the dtool CLI (``dtool create``,
   then three items, a README with metadata, a tag and an annotation put through dtoolcore,
   the library the CLI calls, then ``dtool freeze``).
5. For each dataset in turn: ``dtool copy <dataset> s3://bench-race`` (the real CLI, dtool-s3 to
   moto); the clock starts when that process returns (every object is in S3, every event in both
   queues) and stops, per system, at the first answer that finds the dataset: ours
   ``GET /datasets?uuid=<uuid>`` total 1 (the search index, not the table), dserver
   ``GET /uuids/<uuid>`` 200 with one dataset (its token). Both polled in parallel every
   ``POLL_S``, each within ``--timeout`` seconds. Then the next copy waits until both queues are
   empty (every event of this dataset handled: ``busy_s``), so each copy meets idle systems and
   the figures are per dataset, not a backlog. One extra copy first warms both systems up (the
   first event in a fresh process) and is not counted.
6. Work per dataset: ours' handler invocations and their outcomes (the ingest's own log line per
   event, in the runner's log: ``ingest <status> '<uri>'``), registrations that wrote (created,
   updated, replica-added); dserver's webhook calls (the forwarder's count) and registrations
   (``dserver_app.count_registrations``: one line per ``register_dataset`` the plugin made, with
   its time, so dserver's time to its first registration is known apart from our polling).

Every process started is stopped at the end, on errors and on Ctrl-C; everything binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

import requests  # noqa: E402
from dserver_peer import DserverServer, notify_env  # noqa: E402
from report import machine  # noqa: E402
from upload_race_report import (  # noqa: E402
    NOTES,
    ingest_outcomes,
    markdown,
    record_uuid,
    registrations,
    shape,
    webhook_bodies,
    with_queue,
)

from infra.local.processes import free_port  # noqa: E402
from infra.local.stack import LocalStack  # noqa: E402

LOG = logging.getLogger("bench.upload_race")
BUCKET = "bench-race"
USER = "bench"
ADMIN = "benchadmin"
POLL_S = 0.02
DTOOL_TIMEOUT_S = 120


# -- the datasets --------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalDataset:
    path: Path
    uuid: str


def _run(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        list(cmd), env=env, cwd=cwd, capture_output=True, text=True, timeout=DTOOL_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done


def _readme(i: int) -> str:
    site = ("Wytham Woods", "Alice Holt", "Harwood Forest", "Glensaugh")[i % 4]
    return (
        "---\n"
        f"description: Soil moisture and canopy temperature, plot {i:04d}, {site}\n"
        "project: Upload race\n"
        "owners:\n  - name: Bench Runner\n    email: bench@example.org\n"
        f"funders:\n  - code: NE/X{i:05d}/1\n"
        f"date: 2026-{1 + i % 12:02d}-{1 + i % 28:02d}\n"
        "keywords: [soil, moisture, canopy]\n"
    )


def make_datasets(work: Path, count: int, env: dict[str, str], threads: int = 2) -> list[LocalDataset]:
    """``count`` frozen dtool datasets under ``work`` (``dtool create``, items, README, tag and
    annotation through dtoolcore, ``dtool freeze``), in ``threads`` parallel builders."""
    import warnings

    with warnings.catch_warnings():  # dtoolcore imports pkg_resources (deprecated)
        warnings.simplefilter("ignore")
        import dtoolcore

    dtool = str(Path(sys.executable).parent / "dtool")

    def build(i: int) -> LocalDataset:
        name = f"race-{i:04d}"
        _run([dtool, "create", name, str(work)], env, work)
        path = work / name
        proto = dtoolcore.ProtoDataSet.from_uri(str(path))
        src = work / f"src-{i:04d}"
        src.mkdir()
        items = {
            "raw/moisture.csv": "depth_cm,moisture\n"
            + "".join(f"{d},{0.1 + 0.01 * ((i + d) % 9):.2f}\n" for d in range(0, 60, 5)),
            "raw/canopy.csv": "hour,temp_c\n" + "".join(f"{h},{12 + (i + h) % 7}\n" for h in range(24)),
            "notes.txt": f"plot {i:04d}: probes calibrated, no gaps\n",
        }
        for relpath, text in items.items():
            file = src / relpath.replace("/", "_")
            file.write_text(text)
            proto.put_item(str(file), relpath)
        proto.put_readme(_readme(i))
        proto.put_tag("upload-race")
        proto.put_annotation("plot", i)
        _run([dtool, "freeze", str(path)], env, work)
        shutil.rmtree(src)
        return LocalDataset(path, str(json.loads((path / ".dtool" / "dtool").read_text())["uuid"]))

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(build, range(count)))


def dtool_env(bucket: str, moto_url: str, home: Path) -> dict[str, str]:
    """The dtool CLI's environment: dtool-s3 pointed at moto for ``bucket``, nothing else of this machine."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONWARNINGS": "ignore",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        f"DTOOL_S3_ENDPOINT_{bucket}": moto_url,
        f"DTOOL_S3_ACCESS_KEY_ID_{bucket}": "testing",
        f"DTOOL_S3_SECRET_ACCESS_KEY_{bucket}": "testing",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


# -- the events to dserver ---------------------------------------------------------------


@dataclass
class Forwarder:
    """``threads`` workers taking S3 notifications from ``queue_url`` and POSTing each event to
    ``webhook``; a message is deleted once its POSTs returned (or failed: counted, not retried)."""

    sqs: Any
    queue_url: str
    webhook: str
    threads: int = 4
    calls: dict[str, Counter[str]] = field(default_factory=dict)  # dataset uuid -> answers (status codes)
    post_ms: list[float] = field(default_factory=list)
    test_events: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Forwarder:
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, name=f"forwarder-{n}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)
        self._workers.clear()

    def _run(self) -> None:
        session = requests.Session()
        session.trust_env = False
        while not self._stop.is_set():
            try:
                got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
            except Exception:
                LOG.exception("receiving from the forwarder's queue failed; retrying")
                time.sleep(0.5)
                continue
            for message in got.get("Messages", []):
                try:
                    self._forward(session, message["Body"])
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                except Exception:  # the thread goes on; the message comes back after its visibility timeout
                    LOG.exception("forwarding a message failed")
        session.close()

    def _forward(self, session: requests.Session, message_body: str) -> None:
        bodies = webhook_bodies(message_body)
        if not bodies:
            with self._lock:
                self.test_events += 1
        for body in bodies:
            t0 = time.perf_counter()
            try:
                status = str(session.post(self.webhook, json=body, timeout=300).status_code)
            except requests.RequestException as exc:
                status = type(exc).__name__
            elapsed = (time.perf_counter() - t0) * 1000
            with self._lock:
                self.calls.setdefault(record_uuid(body["Records"][0]) or "-", Counter())[status] += 1
                self.post_ms.append(elapsed)


def add_second_queue(stack: LocalStack, bucket: str) -> str:
    """A queue receiving the same events as ours from ``bucket``; its URL."""
    sqs, s3 = stack.client("sqs"), stack.client("s3")
    url = str(
        sqs.create_queue(QueueName=f"{bucket}-dserver-notify", Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
    )
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    config = with_queue(s3.get_bucket_notification_configuration(Bucket=bucket), arn)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    return url


def queue_depth(sqs: Any, url: str) -> int:
    """Messages waiting or being handled (received, not yet deleted)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attrs.get(n, 0)) for n in names)


# -- the race ------------------------------------------------------------------------------


def _admin(stack: LocalStack, bucket: str) -> None:
    """The bench users; ``s3://bucket`` a base URI the bench user may search and register on."""
    stack.add_user(ADMIN, admin=True)
    stack.add_user(USER)
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {stack.token(ADMIN)}"
    base = f"s3://{bucket}"
    calls: list[tuple[str, str, dict[str, Any], tuple[int, ...]]] = [
        ("POST", "/users", {"username": USER}, (201, 409)),
        ("POST", "/base-uris", {"base_uri": base}, (201, 409)),
        (
            "PUT",
            f"/base-uris/{urllib.parse.quote(base, safe='')}/permissions",
            {"users_with_search_permissions": [USER], "users_with_register_permissions": [USER]},
            (200,),
        ),
    ]
    for method, path, body, ok in calls:
        resp = session.request(method, f"{stack.api_url}{path}", json=body, timeout=30)
        if resp.status_code not in ok:
            raise RuntimeError(f"{method} {path} answered {resp.status_code}: {resp.text[:300]}")
    session.close()


def _poll(found: Callable[[], bool], t0: float, timeout: float, stop: threading.Event) -> float | None:
    """ms from ``t0`` until ``found()`` first answered True; None after ``timeout`` s or ``stop``."""
    deadline = t0 + timeout
    while True:
        try:
            if found():
                return (time.perf_counter() - t0) * 1000
        except requests.RequestException as exc:
            LOG.warning("poll failed: %s", exc)
        if time.perf_counter() > deadline or stop.wait(POLL_S):
            return None


def _drained(
    sqs: Any, queues: dict[str, str], t0: float, timeout: float, stop: threading.Event
) -> dict[str, float | None]:
    """Seconds from ``t0`` until each queue was first empty (None: not within ``timeout``)."""
    out: dict[str, float | None] = dict.fromkeys(queues)
    waiting = dict(queues)
    deadline = t0 + timeout
    while waiting and time.perf_counter() < deadline and not stop.wait(0.05):
        for name, url in list(waiting.items()):
            if queue_depth(sqs, url) == 0:
                out[name] = round(time.perf_counter() - t0, 2)
                del waiting[name]
    return out


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def race(
    stack: LocalStack,
    dserver: DserverServer,
    datasets: Sequence[LocalDataset],
    *,
    bucket: str,
    env: dict[str, str],
    work: Path,
    registrations_log: Path,
    forwarders: int,
    timeout: float,
) -> dict[str, Any]:
    """Copy each dataset in turn and time both systems (module docstring, steps 5-6); the first
    dataset is a warm-up (both systems' first event handled in a fresh process), not counted."""
    sqs = stack.client("sqs")
    queues = {
        "ours": sqs.get_queue_url(QueueName=stack.settings().ingest_queue)["QueueUrl"],
        "dserver": add_second_queue(stack, bucket),
    }
    forwarder = Forwarder(sqs, queues["dserver"], f"{dserver.url}/webhook/notify", forwarders).start()
    runner_log = stack.work_dir / "runner.log"
    log_from = runner_log.stat().st_size
    dtool = str(Path(sys.executable).parent / "dtool")
    ours, theirs = _session(stack.token(USER)), _session(dserver.token)

    def ours_found(uuid: str) -> bool:
        resp = ours.get(f"{stack.api_url}/datasets", params={"uuid": uuid}, timeout=30)
        return resp.status_code == 200 and resp.json()["total"] == 1

    def dserver_found(uuid: str) -> bool:
        resp = theirs.get(f"{dserver.url}/uuids/{uuid}", timeout=60)
        return resp.status_code == 200 and len(resp.json()) == 1

    rows: list[dict[str, Any]] = []
    stop = threading.Event()  # set on the way out: the pollers end at once on Ctrl-C
    try:
        with ThreadPoolExecutor(3) as pool:
            try:
                for i, ds in enumerate(datasets):
                    if i and i % 50 == 0:  # Cognito access tokens last an hour
                        ours.headers["Authorization"] = f"Bearer {stack.token(USER)}"
                    c0 = time.perf_counter()
                    _run([dtool, "copy", "--quiet", str(ds.path), f"s3://{bucket}"], env, work)
                    t0, wall0 = time.perf_counter(), time.time()
                    ours_ms = pool.submit(_poll, functools.partial(ours_found, ds.uuid), t0, timeout, stop)
                    dserver_ms = pool.submit(_poll, functools.partial(dserver_found, ds.uuid), t0, timeout, stop)
                    busy = pool.submit(_drained, sqs, queues, t0, max(timeout, 300.0), stop)
                    row: dict[str, Any] = {"uuid": ds.uuid, "copy_s": round(t0 - c0, 3), "wall_end_copy": wall0}
                    row["ours_ms"], row["dserver_ms"] = ours_ms.result(), dserver_ms.result()
                    row.update({f"{name}_busy_s": s for name, s in busy.result().items()})
                    LOG.info(
                        "%s %s: copy %.2f s, ours %s ms, dserver %s ms, busy ours %s s, dserver %s s",
                        f"{i}/{len(datasets) - 1}" if i else "warm-up",
                        ds.uuid,
                        row["copy_s"],
                        row["ours_ms"] and round(row["ours_ms"]),
                        row["dserver_ms"] and round(row["dserver_ms"]),
                        row["ours_busy_s"],
                        row["dserver_busy_s"],
                    )
                    if i:
                        rows.append(row)
            finally:
                stop.set()
    finally:
        forwarder.stop()
        ours.close()
        theirs.close()
    with open(runner_log, errors="replace") as f:
        f.seek(log_from)
        outcomes = ingest_outcomes(f, bucket)
    regs = registrations(registrations_log.read_text().splitlines() if registrations_log.exists() else [])
    return shape(rows, outcomes, regs, forwarder.calls, forwarder.post_ms)


def _stack(work: Path) -> LocalStack:
    ports = sorted({free_port() for _ in range(8)})[:4]
    api, moto, osm, web = ports
    return LocalStack(api_port=api, moto_port=moto, opensearch_port=osm, token_port=0, web_port=web, work_dir=work)


def run(
    copies: int,
    *,
    stack: LocalStack | None = None,
    dserver_dir: Path = BENCH / ".dserver",
    bucket: str = BUCKET,
    forwarders: int = 4,
    timeout: float = 120.0,
    keep: bool = False,
) -> dict[str, Any]:
    """The race with ``copies`` datasets. On ``stack`` when given (started, left running), else on
    a private local stack; dserver is always started here and stopped before returning. With
    ``keep`` the scratch directory (datasets, logs) is left in place."""
    work = Path(tempfile.mkdtemp(prefix="bench-race-"))
    own_stack = stack is None
    dserver: DserverServer | None = None
    begin = time.monotonic()
    try:
        if stack is None:
            stack = _stack(work / "stack")
            LOG.info("starting a local stack (logs in %s)", stack.work_dir)
            stack.start()
        stack.watch_bucket(bucket)
        _admin(stack, bucket)
        env = dtool_env(bucket, stack.moto_url, work / "home")
        (work / "home").mkdir()
        (work / "datasets").mkdir()
        LOG.info("making %d dtool datasets (dtool create, items, README, freeze) and a warm-up one", copies)
        made = time.monotonic()
        datasets = make_datasets(work / "datasets", copies + 1, env)
        made = time.monotonic() - made
        regs_log = work / "registrations.log"
        LOG.info("starting dserver with the notification plugin (virtualenv in %s)", dserver_dir)
        dserver = DserverServer(
            dserver_dir,
            base_uri=f"s3://{bucket}",
            extra_env=notify_env(bucket, f"s3://{bucket}", stack.moto_url, regs_log),
            run_dir=work / "dserver",  # not scratch/run: make bench's own dserver peer may be running
        )
        dserver.start()
        versions = dserver.versions()
        result = race(
            stack,
            dserver,
            datasets,
            bucket=bucket,
            env=env,
            work=work / "datasets",
            registrations_log=regs_log,
            forwarders=forwarders,
            timeout=timeout,
        )
    finally:
        if dserver is not None:
            dserver.stop()
        if own_stack and stack is not None:
            stack.stop()
        if keep:
            LOG.info("scratch directory kept: %s", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],  # other work on the cores shows here
        "copies": copies,
        "bucket": f"s3://{bucket}",
        "dserver_versions": versions,
        "forwarder_threads": forwarders,
        "timeout_s": timeout,
        "poll_interval_ms": POLL_S * 1000,
        "datasets_made_in_s": round(made, 1),
        "wall_s": round(time.monotonic() - begin, 1),
        "how": (
            f"{copies} dtool datasets (3 items, README with metadata, a tag, an annotation) copied one after "
            "another with the real `dtool copy` into moto's S3; clock from the copy's exit until ours "
            "`GET /datasets?uuid=` has total 1 / dserver `GET /uuids/<uuid>` has the dataset; the same S3 events "
            "reach both (ours through its SQS queue, dserver through a second queue and a webhook forwarder)"
        ),
        "notes": NOTES,
        **result,
    }


def write(result: dict[str, Any], out_dir: Path, name: str) -> Path:
    """``<out_dir>/<name>.json`` and ``.md``; returns the path without suffix."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / name
    base.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    base.with_suffix(".md").write_text(markdown(result))
    return base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=200, help="dtool datasets copied (default 200)")
    parser.add_argument("--forwarders", type=int, default=4, help="webhook forwarder threads (default 4)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per dataset and system (default 120)")
    parser.add_argument("--dserver-dir", type=Path, default=BENCH / ".dserver", help="dserver's scratch directory")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (datasets, logs)")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--name", default=None, help="results file name (default <date>-upload-race)")
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error("--copies must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("bench").setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # unwind as Ctrl-C does: every process stopped
    result = run(
        args.copies, dserver_dir=args.dserver_dir, forwarders=args.forwarders, timeout=args.timeout, keep=args.keep
    )
    base = write(result, args.out, args.name or f"{dt.date.today().isoformat()}-upload-race")
    print(markdown(result))
    LOG.info("results: %s.{json,md}", base.relative_to(REPO) if base.is_relative_to(REPO) else base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
