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
  ``dserver_app:create()``, which applies the nx-27017 shims first.

Every process is a :class:`infra.local.processes.ManagedProcess`, stopped by :meth:`stop`
(also at exit, on errors, and through PR_SET_PDEATHSIG when this process dies).
"""

from __future__ import annotations

from pathlib import Path

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
    )
