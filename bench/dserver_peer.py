"""Launch the second peer, dservercore 0.22 (+ Mongo search/retrieve plugins), on 127.0.0.1.

    with DserverServer(scratch=Path("bench/.dserver")) as dserver:   # builds its virtualenv on first use
        requests.get(f"{dserver.url}/me/summary", headers={"Authorization": f"Bearer {dserver.token}"})

The same harness as the dtool-lookup-server 0.18 peer (:class:`peer.PeerServer`), with
dserver's parts (``shared/research/dserver.md`` sections 1-2):

- ``scratch/venv``: its own virtualenv from ``requirements/build.lock`` then
  ``bench/dserver.lock`` (hash-checked, ``--no-deps``; ``make lock`` makes the lock from
  ``bench/dserver.in``, with the pins dservercore needs on today's PyPI), rebuilt only when a
  lock changes;
- nx-27017 in ``--data-dir`` mode on a free port, fresh data for every start;
- the RS256 key pair written before anything imports dservercore (its ``Config`` reads
  ``JWT_*_KEY_FILE`` at import), then ``dserver_app.py setup``: SQL tables, users, base URI,
  permissions, a non-expiring token;
- gunicorn with ``workers`` workers (2 by default) serving the factory
  ``dserver_app:create()``, which applies the nx-27017 shims first;
- ``extra_env`` for every dserver process: :func:`notify_env` configures the S3 notification
  plugin for the upload race (``bench/upload_race.py``).

Every process is a :class:`infra.local.processes.ManagedProcess`, stopped by :meth:`stop`
(also at exit, on errors, and through PR_SET_PDEATHSIG when this process dies).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dserver_app import REGISTRATIONS_LOG_ENV
from peer import BENCH, PeerServer

LOCKS = (BENCH.parent / "requirements" / "build.lock", BENCH / "dserver.lock")


class DserverServer(PeerServer):
    """nx-27017 + dservercore 0.22 under gunicorn. Attributes once started: ``url``, ``token``."""

    label = "dserver"
    locks: tuple[Path, ...] = LOCKS
    app_module = BENCH / "dserver_app.py"
    wsgi_target = "dserver_app:create()"
    packages: tuple[str, ...] = (
        "dservercore",
        "dserver-search-plugin-mongo",
        "dserver-retrieve-plugin-mongo",
        "nx-27017",
        "pymongo",
        "flask",
        "flask-smorest",
        "gunicorn",
        "dserver-notification-plugin",
        "dtool-s3",
    )

    def __init__(self, scratch: Path, *, extra_env: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        """``extra_env`` is added to every dserver process's environment (e.g. :func:`notify_env`)."""
        super().__init__(scratch, **kwargs)
        self.extra_env = dict(extra_env or {})

    def _env(self) -> dict[str, str]:
        return {**super()._env(), **self.extra_env}


def notify_env(bucket: str, base_uri: str, s3_endpoint: str, registrations_log: Path | None = None) -> dict[str, str]:
    """dserver-notification-plugin 0.4.3's settings for one bucket of the local stack's moto S3.

    The plugin maps the event's bucket to ``base_uri``, takes webhooks from loopback only, and
    reads each dataset with dtool-s3, which finds moto through its per-bucket settings. With
    ``registrations_log`` each registration the plugin makes is counted there
    (:func:`dserver_app.count_registrations`)."""
    env = {
        "DSERVER_NOTIFY_BUCKET_TO_BASE_URI": json.dumps({bucket: base_uri}),
        "DSERVER_NOTIFY_ALLOW_ACCESS_FROM": "127.0.0.1/32",
        f"DTOOL_S3_ENDPOINT_{bucket}": s3_endpoint,
        f"DTOOL_S3_ACCESS_KEY_ID_{bucket}": "testing",
        f"DTOOL_S3_SECRET_ACCESS_KEY_{bucket}": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        # no AWS profile, credentials file or instance metadata of this machine is consulted
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if registrations_log is not None:
        env[REGISTRATIONS_LOG_ENV] = str(registrations_log)
    return env
