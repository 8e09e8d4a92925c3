"""The peer, dtool-lookup-server 0.18, as a WSGI app on nx-27017 (runs in the PEER's virtualenv).

Imported by gunicorn as ``peer_app:app`` and run as a script for the one-off set-up:

    python peer_app.py setup USER BASE_URI    # creates the tables, an admin, USER with search and
                                              # register rights on BASE_URI; prints a non-expiring token

The peer's site-packages are not modified. nx-27017 (a MongoDB wire-protocol server on
SQLite, the only Mongo this machine can run) lacks three things the Mongo plugins use; the
smallest changes that make the peer behave as it does on a real mongod are applied here, at
import time (shared/research/perf-anchors.md section 1.2 found them):

1. ``create_index([("$**", TEXT)])`` (wildcard text index) is refused: it becomes a text
   index on ``name`` and ``readme``, so free text covers those two fields only.
2. BSON Binary UUIDs come back as subtype 0 and never match a ``find`` filter: UUIDs are
   handed to Mongo as their string form in both plugins (register and search).
3. 16-byte values that still come back are rendered as UUID strings in JSON responses.

Configuration is the peer's own: environment variables set by ``bench/peer.py``.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import pymongo
from pymongo.collection import Collection

_create_index = Collection.create_index


def _create_index_without_wildcard(self: Collection, keys: Any, **kwargs: Any) -> Any:
    if list(keys) == [("$**", pymongo.TEXT)]:
        keys = [("name", pymongo.TEXT), ("readme", pymongo.TEXT)]
    return _create_index(self, keys, **kwargs)


Collection.create_index = _create_index_without_wildcard  # type: ignore[method-assign]

from dtool_lookup_server_retrieve_plugin_mongo.utils_retrieve import MongoRetrieve  # noqa: E402
from dtool_lookup_server_search_plugin_mongo.utils_search import MongoSearch  # noqa: E402


def _uuids_as_strings(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    if isinstance(doc.get("uuid"), uuid.UUID):
        doc["uuid"] = str(doc["uuid"])
    if doc.get("uuids"):
        doc["uuids"] = [str(u) for u in doc["uuids"]]
    return doc


def _with_string_uuids(method: Any) -> Any:
    def wrapper(self: Any, arg: dict[str, Any]) -> Any:
        return method(self, _uuids_as_strings(arg))

    return wrapper


MongoSearch.register_dataset = _with_string_uuids(MongoSearch.register_dataset)  # type: ignore[method-assign]
MongoSearch.search = _with_string_uuids(MongoSearch.search)  # type: ignore[method-assign]
MongoRetrieve.register_dataset = _with_string_uuids(MongoRetrieve.register_dataset)  # type: ignore[method-assign]

from dtool_lookup_server import create_app  # noqa: E402
from dtool_lookup_server.extensions import sql_db  # noqa: E402
from flask.json.provider import DefaultJSONProvider  # noqa: E402


class _JSONProvider(DefaultJSONProvider):
    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, bytes) and len(o) == 16:
            return str(uuid.UUID(bytes=o))
        return DefaultJSONProvider.default(o)


app = create_app()
app.json = _JSONProvider(app)
with app.app_context():
    sql_db.create_all()


def setup(username: str, base_uri: str) -> str:
    """Admin ``admin``, ``username`` with search and register rights on ``base_uri``; its token."""
    from dtool_lookup_server import utils
    from flask_jwt_extended import create_access_token

    with app.app_context():
        utils.register_users([{"username": "admin", "is_admin": True}, {"username": username}])
        utils.register_base_uri(base_uri)
        utils.update_permissions(
            {
                "base_uri": base_uri,
                "users_with_search_permissions": [username],
                "users_with_register_permissions": [username],
            }
        )
        return str(create_access_token(identity=username, expires_delta=False))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "setup":
        sys.exit("usage: python peer_app.py setup USER BASE_URI")
    print(setup(sys.argv[2], sys.argv[3]))
