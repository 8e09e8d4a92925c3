"""The whole catalogue on 127.0.0.1: moto, osmem-server, Cognito, the stream runner, chalice local.

    with LocalStack() as stack:          # or stack.start() / stack.stop()
        stack.add_user("alice")
        requests.get(f"{stack.api_url}/datasets", headers={"Authorization": f"Bearer {stack.token('alice')}"})

``python -m infra.local.stack`` (``make run``) starts it with demo users and datasets and
prints how to use it; Ctrl-C stops everything. ``python -m infra.local.stack token USER``
prints a fresh access token for a user of the running demo stack.

Ports: API 8000, moto 5001, osmem 9200, the OAuth2 token endpoint 8001, the web page 8002,
unless given as arguments or overridden by ``CATALOGUE_API_PORT``, ``CATALOGUE_MOTO_PORT``,
``CATALOGUE_OPENSEARCH_PORT``, ``CATALOGUE_TOKEN_PORT``, ``CATALOGUE_WEB_PORT``.

The web page (``web/``, :mod:`infra.local.web`) signs in through the hosted UI stand-in with
PKCE, as it does through Cognito's in AWS; the API answers CORS for its origin only
(``CATALOGUE_WEB_ORIGIN``), and so does the token endpoint.

OAuth2 client credentials (European XFEL's metadata_client): the user pool has the resource
server ``catalogue`` (scope ``mymdc``) and the app client ``xfel-daq`` with a secret, whose
tokens act as the catalogue user ``xfel-daq`` (no admin). moto serves no ``/oauth2/token``,
so the stack runs :mod:`infra.local.oauth2`'s stand-in as a thread of this process
(``stack.xfel_client`` has its client id, secret and token URL).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import requests

from chalicelib import resources
from chalicelib.adapters.identity import CognitoIdentityProvider, IdentityError
from chalicelib.composition import Root
from chalicelib.config import Settings
from infra.local import cognito
from infra.local.cognito import PoolInfo, ServiceClient
from infra.local.datacite_standin import DataCiteStandIn, start_local
from infra.local.hosted_ui import HostedUi
from infra.local.invenio_standin import InvenioStandIn
from infra.local.oauth2 import ClientCredentials, CognitoClients, TokenServer, TokenSigner
from infra.local.processes import (
    REPO_ROOT,
    ManagedProcess,
    PortInUse,
    port_in_use,
    start_chalice_local,
    start_moto,
    start_osmem,
    start_runner,
)
from infra.local.web import WebServer

HOST = "127.0.0.1"
REGION = "eu-west-1"
DEFAULT_PORTS = {"api": 8000, "moto": 5001, "opensearch": 9200, "token": 8001, "web": 8002}
PORT_ENV = {
    "api": "CATALOGUE_API_PORT",
    "moto": "CATALOGUE_MOTO_PORT",
    "opensearch": "CATALOGUE_OPENSEARCH_PORT",
    "token": "CATALOGUE_TOKEN_PORT",
    "web": "CATALOGUE_WEB_PORT",
}
SERVICE_NAMES = {
    "api": "chalice local (the catalogue API)",
    "moto": "moto (AWS emulator)",
    "opensearch": "osmem-server (OpenSearch emulator)",
    "token": "the OAuth2 token endpoint (stand-in)",
    "web": "the web page",
}
STREAM_ENV = ("CATALOGUE_DATASETS_STREAM_ARN", "CATALOGUE_ACCESS_STREAM_ARN", "CATALOGUE_FACILITY_STREAM_ARN")
# the demo user dtool clients sign in as with a password, through POST /token
DTOOL_USER = "dtool-demo"
# the Data Tracker's sign-in service on the local stack (/api/v1/login/oidc/cognito/): the hosted UI stand-in
OIDC_LOGIN_NAME = "cognito"

LOG = logging.getLogger("infra.local.stack")


def _port(name: str, explicit: int | None, environ: Mapping[str, str]) -> int:
    if explicit is not None:
        return explicit
    raw = environ.get(PORT_ENV[name])
    if raw:
        try:
            return int(raw)
        except ValueError as exc:
            raise ValueError(f"{PORT_ENV[name]} must be a port number, not {raw!r}") from exc
    return DEFAULT_PORTS[name]


@contextlib.contextmanager
def patched_environ(env: Mapping[str, str]) -> Iterator[None]:
    """Run in-process AWS code (bootstrap, our boto3 clients) with exactly the stack's AWS_*/CATALOGUE_* env.

    Inherited AWS_* variables are hidden meanwhile: an AWS_PROFILE that does not exist in
    the (blanked) config file would make every boto3 session fail, and real credentials
    must never be used against the emulators. Everything is restored afterwards.
    """
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith(("AWS_", "CATALOGUE_")):
                del os.environ[key]
        os.environ.update(env)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class LocalStack:
    """The local emulators, the event runner and the API, started and stopped together.

    Attributes once started: ``api_url``, ``moto_url``, ``opensearch_url``, ``env`` (the
    full environment handed to ``chalice local`` and the runner), ``pool`` (the Cognito
    :class:`PoolInfo`), ``xfel_client`` (the OAuth2 client-credentials client and the token
    URL), ``timings`` (seconds per start phase). Not thread-safe. ``token_port=0`` lets the
    OS pick the token endpoint's port (``token_url`` tells which).
    """

    def __init__(
        self,
        *,
        api_port: int | None = None,
        moto_port: int | None = None,
        opensearch_port: int | None = None,
        token_port: int | None = None,
        web_port: int | None = None,
        work_dir: str | os.PathLike[str] | None = None,
        project_dir: str | os.PathLike[str] | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self.host = HOST
        self.api_port = _port("api", api_port, os.environ)
        self.moto_port = _port("moto", moto_port, os.environ)
        self.opensearch_port = _port("opensearch", opensearch_port, os.environ)
        self.token_port = _port("token", token_port, os.environ)
        self.web_port = _port("web", web_port, os.environ)
        self.project_dir = Path(project_dir) if project_dir is not None else REPO_ROOT
        self.work_dir = Path(work_dir) if work_dir is not None else self.project_dir / ".local-stack"
        self.ready_timeout = ready_timeout
        self.timings: dict[str, float] = {}
        self._procs: list[ManagedProcess] = []
        self._pool: PoolInfo | None = None
        self._service_client: ServiceClient | None = None
        self._token_server: TokenServer | None = None
        self._web: WebServer | None = None
        self.invenio: InvenioStandIn | None = None  # the InvenioRDM records POST /harvests reads
        self.datacite: DataCiteStandIn | None = None  # DataCite's REST API for DOIs
        self._passwords: dict[str, str] = {}
        self._cognito_client: Any = None
        self.env: dict[str, str] = self._base_env()

    # -- addresses ----------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def moto_url(self) -> str:
        return f"http://{self.host}:{self.moto_port}"

    @property
    def opensearch_url(self) -> str:
        return f"http://{self.host}:{self.opensearch_port}"

    @property
    def web_url(self) -> str:
        """The web page (and its sign-in callback)."""
        return f"http://{self.host}:{self.web_port}/"

    @property
    def web_origin(self) -> str:
        return f"http://{self.host}:{self.web_port}"

    @property
    def pool(self) -> PoolInfo:
        if self._pool is None:
            raise RuntimeError("the stack is not started")
        return self._pool

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint (client-credentials grant only)."""
        if self._token_server is not None:  # the bound port (token_port 0: the OS picked it)
            return self._token_server.token_url
        return f"http://{self.host}:{self.token_port}/oauth2/token"

    @property
    def xfel_client(self) -> ClientCredentials:
        """What European XFEL's metadata_client needs to get tokens: the app client
        ``xfel-daq``'s id and secret, and the token URL; its tokens act as ``xfel-daq``."""
        if self._service_client is None:
            raise RuntimeError("the stack is not started")
        return ClientCredentials(
            client_id=self._service_client.client_id,
            client_secret=self._service_client.client_secret,
            token_url=self.token_url,
            scope=" ".join(self._service_client.scopes),
            username=self._service_client.username,
        )

    @property
    def processes(self) -> list[ManagedProcess]:
        return list(self._procs)

    def _base_env(self) -> dict[str, str]:
        no_proxy = ",".join(p for p in (os.environ.get("NO_PROXY", ""), "127.0.0.1,localhost") if p)
        return {
            "CATALOGUE_STAGE": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # botocore 1.44 sends dynamodbstreams calls to an account-id endpoint moto ignores.
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            # Safety net: a boto3 client built without endpoint_url still talks to moto.
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_EC2_METADATA_DISABLED": "true",
            # No ~/.aws config or credentials file may leak in (profiles, endpoints, regions).
            "AWS_CONFIG_FILE": str(self.work_dir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.work_dir / "no-aws-credentials"),
            "CATALOGUE_AWS_ENDPOINT_URL": self.moto_url,
            "CATALOGUE_OPENSEARCH_URL": self.opensearch_url,
            # the change feed: the bus and a rule to the queue catalogue-events (bootstrap.create_event_feed)
            "CATALOGUE_EVENT_BUS_NAME": resources.EVENT_BUS,
            "CATALOGUE_OIDC_ISSUERS": "[]",
            # POST /token's user pool: set once the pool exists (see _start)
            "CATALOGUE_USER_POOL_ID": "",
            "CATALOGUE_USER_POOL_CLIENT_ID": "",
            "CATALOGUE_OIDC_LOGINS": "[]",
            # the only origin the API answers CORS requests from: the web page
            "CATALOGUE_WEB_ORIGIN": self.web_origin,
            # OAI-PMH pages of 5 records: resumption tokens show at once (100 in AWS)
            "CATALOGUE_OAI_PAGE_SIZE": "5",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }

    # -- lifecycle ----------------------------------------------------------------------

    def check_ports(self) -> None:
        """Raise :class:`PortInUse` for the first port that is taken."""
        ports = (
            ("api", self.api_port),
            ("moto", self.moto_port),
            ("opensearch", self.opensearch_port),
            ("token", self.token_port),
            ("web", self.web_port),
        )
        for name, port in ports:
            if port_in_use(self.host, port):
                raise PortInUse(self.host, port, SERVICE_NAMES[name], PORT_ENV[name])

    def start(self) -> LocalStack:
        """Start everything, in dependency order; on any failure stop what was started and re-raise."""
        if self._procs or self._token_server is not None or self._web is not None:
            raise RuntimeError("the stack is already started")
        begin = time.monotonic()
        self.check_ports()
        # A restarted stack has fresh emulators: forget the previous pool, users and stream ARNs.
        self.env, self._pool, self._passwords, self.timings = self._base_env(), None, {}, {}
        self._service_client = None
        self.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start(begin)
        except BaseException:
            self.stop()
            raise
        return self

    def _phase(self, name: str, since: float) -> float:
        now = time.monotonic()
        self.timings[name] = round(now - since, 3)
        LOG.info("%s: %.2f s", name, now - since)
        return now

    @property
    def oidc_callback(self) -> str:
        """Where the hosted UI sends a signed-in browser back: the API's sign-in callback."""
        return f"{self.api_url}/api/v1/login/oidc/{OIDC_LOGIN_NAME}/authorize"

    def _hosted_ui(self, pool: CognitoIdentityProvider) -> HostedUi:
        """The hosted UI stand-in for the pool's public client, checking passwords with ``pool``."""

        def check_password(username: str, password: str) -> tuple[str, int] | None:
            try:
                signed_in = pool.sign_in(username, password)
            except IdentityError:  # unknown user, wrong password, a further step asked for
                return None
            return signed_in.token, signed_in.expires_in

        return HostedUi(pool.client_id, frozenset({self.oidc_callback, self.web_url}), check_password)

    def _start(self, begin: float) -> None:
        from chalicelib import bootstrap  # the lead's module; imported late so this file loads without it

        t = begin
        moto = start_moto(self.host, self.moto_port, self.work_dir, wait=False)
        self._procs.append(moto)
        osmem = start_osmem(self.host, self.opensearch_port, self.work_dir, wait=False)
        self._procs.append(osmem)
        moto.wait_ready(timeout=self.ready_timeout)
        osmem.wait_ready(timeout=self.ready_timeout)
        t = self._phase("emulators", t)

        with patched_environ(self.env):
            self._cognito_client = self.client("cognito-idp")
            self._pool = cognito.create_user_pool(self._cognito_client, resources.USER_POOL_NAME)
            self._service_client = cognito.create_service_client(
                self._cognito_client,
                self._pool,
                resources.XFEL_CLIENT_NAME,
                resources.XFEL_SERVICE_USER,
                resource_server=resources.OAUTH_RESOURCE_SERVER,
                scope=resources.MYMDC_SCOPE,
            )
            # the stand-in's own client: it asks moto from its own thread
            clients = CognitoClients(self.client("cognito-idp"), self._pool.pool_id)
            hosted_ui = self._hosted_ui(cognito.provider(self.client("cognito-idp"), self._pool))
        self.env["CATALOGUE_OIDC_ISSUERS"] = json.dumps([cognito.issuer_config(self._pool, [self._service_client])])
        self.env["CATALOGUE_USER_POOL_ID"] = self._pool.pool_id
        self.env["CATALOGUE_USER_POOL_CLIENT_ID"] = self._pool.client_id
        self._token_server = TokenServer(
            clients,
            TokenSigner(self._pool.issuer),
            port=self.token_port,
            hosted_ui=hosted_ui,
            cors_origins=frozenset({self.web_origin}),
        ).start()
        self._web = WebServer(self.project_dir / "web", self.web_config(), port=self.web_port).start()
        # the Data Tracker's sign-in service "cognito": the hosted UI stand-in, the pool's client
        login = {
            "name": OIDC_LOGIN_NAME,
            "authorize_url": self._token_server.authorize_url,
            "token_url": self._token_server.token_url,
            "client_id": self._pool.client_id,
            "redirect_uri": self.oidc_callback,
        }
        self.env["CATALOGUE_OIDC_LOGINS"] = json.dumps([login])
        self.env["CATALOGUE_CLIENT_CREDENTIALS_TOKEN_URL"] = self._token_server.token_url
        t = self._phase("cognito", t)

        self.invenio = InvenioStandIn().start()  # its demo records, allow-listed (plain http, loopback)
        self.env.update(self.invenio.environment)
        self.datacite = start_local(self.client("secretsmanager"))  # its account in moto's Secrets Manager
        self.env.update(self.datacite.environment)
        settings = Settings.from_env(self.env)
        with patched_environ(self.env):
            arns = bootstrap.create_resources(Root(settings))
        missing = [k for k in STREAM_ENV if not arns.get(k)]
        if missing:
            raise RuntimeError(f"create_resources() returned no {', '.join(missing)}")
        self.env.update({k: arns[k] for k in STREAM_ENV})
        with patched_environ(self.env):
            # the service principal's catalogue record, no permissions (an admin grants them)
            Root(settings).access.principal(self._service_client.username)
        # moto runs state machines only when told to (server mode: its config endpoint)
        requests.post(
            f"{self.moto_url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
        ).raise_for_status()
        definition = (self.project_dir / resources.ARCHIVE_DEFINITION_FILE).read_text()
        with patched_environ(self.env):
            self.env["CATALOGUE_ARCHIVE_STATE_MACHINE_ARN"] = bootstrap.create_archive_state_machine(
                Root(settings), definition
            )
        t = self._phase("resources", t)

        runner = start_runner(self.env, self.work_dir, project_dir=self.project_dir, wait=False)
        self._procs.append(runner)
        api = start_chalice_local(
            self.host, self.api_port, self.env, self.work_dir, project_dir=self.project_dir, wait=False
        )
        self._procs.append(api)
        runner.wait_ready(timeout=self.ready_timeout)
        api.wait_ready(timeout=self.ready_timeout)
        self._phase("runner+api", t)
        self.timings["total"] = round(time.monotonic() - begin, 3)
        LOG.info("local stack up in %.2f s: API %s", self.timings["total"], self.api_url)

    def web_config(self) -> dict[str, str]:
        """The web page's ``config.json``: where the API, the sign-in and the uploads are."""
        if self._token_server is None or self._pool is None:
            raise RuntimeError("the stack is not started")
        return {
            "api_url": self.api_url,
            "authorize_url": self._token_server.authorize_url,
            "token_url": self._token_server.token_url,
            "client_id": self._pool.client_id,
            "redirect_uri": self.web_url,
            "storage_url": self.moto_url,  # presigned upload POSTs go there
        }

    def stop(self) -> None:
        """Stop the web page and the token endpoint, then every process started, newest
        first. Idempotent; never raises for a dead child."""
        for name, server in (
            ("web page", self._web),
            ("token endpoint", self._token_server),
            ("InvenioRDM", self.invenio),
            ("DataCite", self.datacite),
        ):
            if server is not None:
                try:
                    server.stop()
                except Exception:
                    LOG.exception("stopping the %s failed", name)
        self._web, self._token_server, self.invenio, self.datacite = None, None, None, None
        while self._procs:
            proc = self._procs.pop()
            try:
                proc.stop()
            except Exception:
                LOG.exception("stopping %s failed", proc.name)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def watch_bucket(self, bucket: str) -> None:
        """Create ``bucket`` with its object events going to the ingest queue (auto-registration)."""
        from chalicelib import bootstrap

        with patched_environ(self.env):
            bootstrap.watch_bucket(Root(self.settings()), bucket)

    def stop_opensearch(self) -> None:
        """Stop the OpenSearch emulator (outage drills); its in-memory index is lost."""
        for proc in [p for p in self._procs if p.name == "osmem"]:
            proc.stop()
            self._procs.remove(proc)

    def start_opensearch(self) -> None:
        """Start a fresh, empty OpenSearch emulator on the same port after :meth:`stop_opensearch`
        or :meth:`kill_opensearch`."""
        self._procs.insert(1, start_osmem(self.host, self.opensearch_port, self.work_dir, wait=True))

    def _kill(self, name: str) -> ManagedProcess | None:
        """SIGKILL the child ``name`` (no clean stop) and forget it; the killed process, if any."""
        for proc in [p for p in self._procs if p.name == name]:
            proc.kill()
            self._procs.remove(proc)
            return proc
        return None

    def kill_opensearch(self) -> ManagedProcess | None:
        """Crash the OpenSearch emulator with SIGKILL (fault drills); its in-memory index is lost.
        :meth:`start_opensearch` starts a fresh one."""
        return self._kill("osmem")

    def kill_runner(self) -> ManagedProcess | None:
        """Crash the event runner with SIGKILL (fault drills): whatever it was handling is cut
        short, SQS messages it had received come back after their visibility timeout, its
        stream positions (in memory) are lost. :meth:`start_runner` starts a new one."""
        return self._kill("runner")

    def start_runner(self, extra_env: Mapping[str, str] | None = None) -> ManagedProcess:
        """Start a new event runner after :meth:`kill_runner` and wait until it is ready; it reads
        every stream from ``TRIM_HORIZON`` again. ``extra_env`` is added to its environment only
        (e.g. the runner's local fault hook ``CATALOGUE_LOCAL_SLOW_STEP``). The previous runner's
        log is kept as ``runner.<n>.log`` (the readiness probe needs a fresh ``runner.log``)."""
        if any(p.name == "runner" for p in self._procs):
            raise RuntimeError("the runner is running; kill_runner() first")
        log = self.work_dir / "runner.log"
        if log.exists():
            n = 1
            while (self.work_dir / f"runner.{n}.log").exists():
                n += 1
            log.rename(self.work_dir / f"runner.{n}.log")
        env = {**self.env, **(extra_env or {})}
        runner = start_runner(env, self.work_dir, project_dir=self.project_dir, wait=True, timeout=self.ready_timeout)
        # stopped before the emulators, as at the start: just before the API if it runs
        api = [i for i, p in enumerate(self._procs) if p.name == "chalice-local"]
        self._procs.insert(api[0] if api else len(self._procs), runner)
        return runner

    def dead_processes(self) -> list[ManagedProcess]:
        """Children that exited although the stack was not stopped."""
        return [p for p in self._procs if not p.running]

    # -- clients, users, tokens ---------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on the stack's moto, with the test credentials."""
        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        ).client(service, endpoint_url=self.moto_url)

    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def add_user(self, username: str, *, admin: bool = False, email: str | None = None) -> None:
        """Create a Cognito user with a generated password; with ``admin``, also a catalogue admin.

        A non-admin's catalogue record is created by the app on the user's first request.
        Idempotent: for a user that exists already only ``admin`` is applied again.
        """
        with patched_environ(self.env):
            if username not in self._passwords:
                password = "Local-" + secrets.token_urlsafe(18) + "-9a"
                cognito.create_user(
                    self._cognito_client, self.pool, username, password, email or f"{username}@example.org"
                )
                self._passwords[username] = password
            if admin:
                from chalicelib import bootstrap

                bootstrap.ensure_admin(Root(self.settings()), username)

    def password(self, username: str) -> str:
        """The generated password of a user made with :meth:`add_user` (a throwaway of an
        in-memory pool)."""
        if username not in self._passwords:
            raise KeyError(f"unknown user {username!r}: create it with add_user() first")
        return self._passwords[username]

    def token(self, username: str) -> str:
        """A fresh Cognito access token (one hour) for a user made with :meth:`add_user`."""
        if username not in self._passwords:
            raise KeyError(f"unknown user {username!r}: create it with add_user() first")
        with patched_environ(self.env):
            return cognito.access_token(self._cognito_client, self.pool, username, self._passwords[username])

    def state(self) -> dict[str, Any]:
        """What another process needs to mint tokens for this stack (written to ``state.json``)."""
        return {
            "api_url": self.api_url,
            "moto_url": self.moto_url,
            "opensearch_url": self.opensearch_url,
            "pool": {
                "pool_id": self.pool.pool_id,
                "client_id": self.pool.client_id,
                "issuer": self.pool.issuer,
                "jwks_url": self.pool.jwks_url,
            },
            "passwords": dict(self._passwords),  # throwaway passwords of an in-memory moto pool
            # metadata_client's settings (the secret is a throwaway of the in-memory pool too)
            "oauth2": dataclasses.asdict(self.xfel_client),
            "env": dict(self.env),  # for `catalogue` commands run beside the stack
        }


if __name__ == "__main__":  # python -m infra.local.stack: the command line lives in infra.local.launcher
    from infra.local.launcher import main

    sys.exit(main())
