"""The second peer, dservercore 0.22, as a WSGI app on nx-27017 (runs in ITS virtualenv).

gunicorn serves the factory, ``dserver_app:create()``; the one-off set-up runs as a script:

    python dserver_app.py setup USER BASE_URI   # creates the tables, an admin, USER with search
                                                # and register rights on BASE_URI; prints a
                                                # non-expiring RS256 token for USER

dserver's site-packages are not modified. nx-27017 (a MongoDB wire-protocol server on SQLite,
the only Mongo this machine can run) lacks what the Mongo plugins use in three places; the
smallest changes that make dserver behave as on a real mongod are applied by
:func:`apply_shims`, before the app is created (``shared/research/dserver.md`` section 2,
each shown necessary by switching it off):

1. ``create_index([("$**", TEXT)])`` (wildcard text index) is refused ("Invalid identifier
   'datasets_$**_fts'"): it becomes a text index on ``name`` and ``readme``, so free text
   covers those two fields only.
2. ``create_app`` initialises each plugin twice, and every process (gunicorn worker, the
   set-up) does it again: once documents exist, nx-27017 re-populates its FTS5 table and
   answers ``constraint failed``. Real MongoDB ignores an index that exists; so does the shim,
   for the rewritten index only.
3. The schemas hand ``uuid.UUID`` objects to pymongo (``uuidRepresentation='standard'``: BSON
   binary subtype 4), which nx-27017 gives back as plain ``bytes``: every filtered search
   then fails to serialise (500). UUIDs are handed to Mongo as strings, in both plugins'
   ``_register_dataset_descriptive_metadata`` and in the search plugin's
   ``_dict_to_mongo_query``.

For the upload race (``bench/upload_race.py``) :func:`count_registrations` also counts every
registration the S3 notification plugin makes, one line per registration in the file named by
``BENCH_NOTIFY_REGISTRATIONS_LOG`` (a bench counter, not a behaviour change: the registration
runs as before, the line is written once it returned).

The pure parts (which keys, which documents) are plain functions, unit-tested from the
project's virtualenv (``tests/unit/test_bench_dserver.py``) where dserver is not installed:
nothing here imports dserver, Flask or pymongo at import time.
Configuration is dserver's own: environment variables set by ``bench/dserver_peer.py``.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

WILDCARD_TEXT_INDEX = "$**"
TEXT_INDEX_FIELDS = ("name", "readme")
_SHIMMED: list[bool] = []  # non-empty once apply_shims ran (patching twice would wrap twice)
REGISTRATIONS_LOG_ENV = "BENCH_NOTIFY_REGISTRATIONS_LOG"


def text_index_keys(keys: Sequence[tuple[str, Any]], text: Any = "text") -> list[tuple[str, Any]] | None:
    """The keys to index instead of ``keys`` when they are the wildcard text index; else None."""
    if list(keys) == [(WILDCARD_TEXT_INDEX, text)]:
        return [(field, text) for field in TEXT_INDEX_FIELDS]
    return None


def uuids_as_strings(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a registration or a query with ``uuid`` / ``uuids`` as strings."""
    out = dict(doc)
    if isinstance(out.get("uuid"), uuid.UUID):
        out["uuid"] = str(out["uuid"])
    if isinstance(out.get("uuids"), list | tuple):
        out["uuids"] = [str(u) if isinstance(u, uuid.UUID) else u for u in out["uuids"]]
    return out


def is_existing_index_failure(message: str) -> bool:
    """nx-27017's answer to re-creating a populated text index (shim 2)."""
    return "constraint failed" in message


def _on_strings(fn: Callable[..., Any], position: int) -> Callable[..., Any]:
    """``fn`` with its argument at ``position`` (a dict) passed through :func:`uuids_as_strings`."""

    def wrapper(*args: Any) -> Any:
        args_list = list(args)
        args_list[position] = uuids_as_strings(args_list[position])
        return fn(*args_list)

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def apply_shims() -> None:
    """Patch pymongo's ``create_index`` and the two plugins' module functions (once)."""
    if _SHIMMED:
        return
    import dserver_retrieve_plugin_mongo.utils_retrieve as retrieve
    import dserver_search_plugin_mongo.utils_search as search
    import pymongo
    from pymongo.collection import Collection
    from pymongo.errors import OperationFailure

    create_index = Collection.create_index

    def create_index_on_nx(self: Collection[Any], keys: Any, **kwargs: Any) -> Any:
        replacement = text_index_keys(keys, pymongo.TEXT) if isinstance(keys, list) else None
        if replacement is None:
            return create_index(self, keys, **kwargs)
        try:
            return create_index(self, replacement, **kwargs)
        except OperationFailure as exc:
            if not is_existing_index_failure(str(exc)):
                raise
            return "_".join(f"{field}_text" for field in TEXT_INDEX_FIELDS)

    # setattr: the patched names are private to pymongo and the plugins (no stubs to agree with)
    setattr(Collection, "create_index", create_index_on_nx)  # noqa: B010
    for module in (search, retrieve):
        register = module._register_dataset_descriptive_metadata
        setattr(module, "_register_dataset_descriptive_metadata", _on_strings(register, 1))  # noqa: B010
    setattr(search, "_dict_to_mongo_query", _on_strings(search._dict_to_mongo_query, 0))  # noqa: B010
    _SHIMMED.append(True)


def appending(fn: Callable[..., Any], path: str) -> Callable[..., Any]:
    """``fn(dataset_info, ...)`` that, once ``fn`` returned, appends ``<uuid>\t<epoch s>\n`` to ``path``.

    One ``O_APPEND`` write per line: the lines of several worker processes never interleave."""

    def wrapper(dataset_info: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        result = fn(dataset_info, *args, **kwargs)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{dataset_info.get('uuid')}\t{time.time():.6f}\n".encode())
        finally:
            os.close(fd)
        return result

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def count_registrations(path: str) -> None:
    """Count the notification plugin's registrations in ``path`` (its module-level
    ``register_dataset``, which it calls once per ObjectCreated event of a frozen dataset)."""
    import dserver_notification_plugin as plugin

    if not hasattr(plugin.register_dataset, "__wrapped__"):
        setattr(plugin, "register_dataset", appending(plugin.register_dataset, path))  # noqa: B010


def create() -> Any:
    """The WSGI app: dservercore's ``create_app()`` with the shims, its SQL tables created
    (and the plugin's registrations counted when ``BENCH_NOTIFY_REGISTRATIONS_LOG`` is set)."""
    apply_shims()
    if os.environ.get(REGISTRATIONS_LOG_ENV):
        count_registrations(os.environ[REGISTRATIONS_LOG_ENV])
    from dservercore import create_app
    from dservercore.extensions import sql_db

    app = create_app()
    with app.app_context():
        sql_db.create_all()
    return app


def setup(username: str, base_uri: str) -> str:
    """Admin ``admin``, ``username`` with search and register rights on ``base_uri``; a token
    for ``username`` that never expires (dserver's ``flask user token --last-forever``)."""
    app = create()
    from dservercore import utils
    from flask_jwt_extended import create_access_token

    with app.app_context():
        utils.register_users([{"username": "admin", "is_admin": True}, {"username": username}])
        utils.register_base_uri(base_uri)
        utils.register_permissions(
            base_uri,
            {"users_with_search_permissions": [username], "users_with_register_permissions": [username]},
        )
        return str(create_access_token(identity=username, expires_delta=False))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "setup":
        sys.exit("usage: python dserver_app.py setup USER BASE_URI")
    print(setup(sys.argv[2], sys.argv[3]))
