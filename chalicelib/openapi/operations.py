"""What the routing table cannot tell of an operation: its query parameters, the shape of its
body and answer, and the API family it belongs to. Here the catalogue's own routes; the APIs
it stands in for are in :mod:`chalicelib.openapi.compat_operations`.

Everything else (paths, path parameters, methods, content types, who may call, success
statuses, summaries) is read off the routes and their handlers by
:mod:`chalicelib.openapi.document`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain import KINDS
from chalicelib.openapi.schemas import JSON


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    schema: JSON = field(default_factory=lambda: {"type": "string"})
    repeatable: bool = False


@dataclass(frozen=True)
class Doc:
    """``request``/``response``: a component schema's name; ``query``: its parameters."""

    request: str | None = None
    response: str | None = None
    query: tuple[Param, ...] = ()


PAGE = (
    Param("page", "the page, from 1", {"type": "integer", "minimum": 1}),
    Param("page_size", "items per page", {"type": "integer", "minimum": 1}),
)
LOG = (
    Param("limit", "entries per page", {"type": "integer", "minimum": 1}),
    Param("after", "the cursor of the next page (the previous answer's `next`)"),
)
FILTERS = (
    Param("q", "words, each of which must match somewhere (name, description, README, annotations, file paths)"),
    Param("base_uri", "only datasets under this base URI", repeatable=True),
    Param("creator", "only datasets of this creator", repeatable=True),
    Param("tag", "only datasets with every one of these tags", repeatable=True),
    Param("uuid", "only this dataset", repeatable=True),
    Param("project", "only datasets of this project", repeatable=True),
    Param(
        "type",
        "only datasets of this kind (see `kind`)",
        {"enum": list(KINDS)},
        repeatable=True,
    ),
)
SEARCH = (
    *FILTERS,
    Param("sort", "one of registered (the default: `-registered`), created, frozen, updated, name; `-`: descending"),
    *PAGE,
    Param("after", "the cursor of the next page (deep paging)"),
    Param(
        "highlight",
        "`true`: each item of a search with `q` has `highlights`, per field the snippets where the words "
        "matched, HTML-escaped with the words in `<mark>`…`</mark>`",
        {"type": "boolean", "default": False},
    ),
)
BASE_URI = (Param("base_uri", "which entry, when the uuid is registered under several base URIs"),)
FORMAT_XML = (Param("format", "`xml`: the object as ENA XML (default JSON)"),)
SORTED_PAGE = (*PAGE, Param("sort", "the field to sort by (`-`: descending)"))
RECORD_FILTERS = (
    Param("q", "words, each of which must be in the title or description"),
    Param("tag", "`key:value` or a word, each of which the tags must have", repeatable=True),
    Param("editor", "only what this user (its `_id`) edits", {"type": "string", "format": "uuid"}),
    *PAGE,
)
FOLDER_FILTERS = (Param("published", "`true` or `false`"), Param("q", "words of the name"), *PAGE)

# (method, route) -> what the description adds; routes not named here get the defaults
DOCS: dict[tuple[str, str], Doc] = {
    ("GET", "/health"): Doc(response="Health"),
    ("GET", "/config"): Doc(response="PublicConfig"),
    ("POST", "/token"): Doc(request="Credentials", response="Token"),
    ("GET", "/datasets"): Doc(response="DatasetPage", query=SEARCH),
    ("POST", "/datasets"): Doc(request="Registration", response="RegistrationResult"),
    ("GET", "/datasets/summary"): Doc(response="Summary", query=SEARCH[1:4]),
    ("GET", "/datasets/facets"): Doc(response="Facets", query=FILTERS),
    ("POST", "/uploads"): Doc(request="UploadRequest", response="UploadForm"),
    ("GET", "/datasets/{uuid}"): Doc(response="Dataset", query=BASE_URI),
    ("PATCH", "/datasets/{uuid}"): Doc(request="DatasetPatch", response="Dataset", query=BASE_URI),
    ("GET", "/datasets/{uuid}/readme"): Doc(response="DatasetReadme", query=BASE_URI),
    ("GET", "/datasets/{uuid}/manifest"): Doc(response="Manifest", query=BASE_URI),
    ("GET", "/datasets/{uuid}/annotations"): Doc(response="DatasetAnnotations", query=BASE_URI),
    ("GET", "/datasets/{uuid}/tags"): Doc(response="DatasetTags", query=BASE_URI),
    ("DELETE", "/datasets/{uuid}/replicas"): Doc(response="ReplicaDeleted", query=(Param("uri", "the replica"),)),
    ("GET", "/datasets/{uuid}/log"): Doc(response="Log", query=(*BASE_URI, *LOG)),
    ("GET", "/users/{username}/log"): Doc(response="Log", query=LOG),
    ("GET", "/base-uris/{base_uri}/log"): Doc(response="Log", query=LOG),
    ("GET", "/facility/{kind}/{id}/log"): Doc(response="Log", query=LOG),
    ("GET", "/submissions/folders/{folder_id}/log"): Doc(response="Log", query=LOG),
    ("GET", "/submissions/objects/{accession}/log"): Doc(response="Log", query=LOG),
    ("GET", "/users"): Doc(response="UserList", query=SORTED_PAGE),
    ("POST", "/users"): Doc(request="NewUser", response="User"),
    ("GET", "/users/me"): Doc(response="User"),
    ("PATCH", "/users/me"): Doc(request="ProfilePatch", response="User"),
    ("GET", "/users/{username}"): Doc(response="User"),
    ("PUT", "/users/{username}"): Doc(request="UserPut", response="User"),
    ("PATCH", "/users/{username}"): Doc(request="UserPatch", response="User"),
    ("DELETE", "/users/{username}"): Doc(response="Deleted"),
    ("PUT", "/users/{username}/topics"): Doc(request="Topics", response="User"),
    ("GET", "/users/me/keys"): Doc(response="ApiKeyPage", query=PAGE),
    ("POST", "/users/me/keys"): Doc(request="ApiKeyRequest", response="NewApiKey"),
    ("GET", "/users/{username}/keys"): Doc(response="ApiKeyPage", query=PAGE),
    ("GET", "/base-uris"): Doc(response="BaseUriList", query=SORTED_PAGE),
    ("POST", "/base-uris"): Doc(request="NewBaseUri", response="BaseUri"),
    ("GET", "/base-uris/{base_uri}"): Doc(response="BaseUri"),
    ("PUT", "/base-uris/{base_uri}"): Doc(request="Permissions", response="BaseUri"),
    ("DELETE", "/base-uris/{base_uri}"): Doc(response="Deleted"),
    ("PUT", "/base-uris/{base_uri}/permissions"): Doc(request="Permissions", response="BaseUri"),
    ("GET", "/archives"): Doc(
        response="ArchivePage",
        query=(Param("status", "only archives in this status"), Param("dataset", "only this dataset's"), *PAGE),
    ),
    ("POST", "/archives"): Doc(request="DepositRequest", response="DepositUpload"),
    ("GET", "/archives/{archive_id}"): Doc(response="Archive"),
    ("POST", "/datasets/{uuid}/archive"): Doc(response="Archive", query=BASE_URI),
    ("POST", "/archives/{archive_id}/retry"): Doc(response="Archive"),
    ("GET", "/archives/{archive_id}/download"): Doc(
        response="ArchiveDownload", query=(Param("after", "the `next` of the previous page"),)
    ),
    ("GET", "/annotation-schemas"): Doc(response="AnnotationSchemaList"),
    ("POST", "/annotation-schemas"): Doc(request="NewAnnotationSchema", response="AnnotationSchema"),
    ("GET", "/annotation-schemas/{name}"): Doc(response="AnnotationSchema"),
    ("GET", "/annotation-schemas/{name}/versions/{version}"): Doc(response="AnnotationSchema"),
    ("GET", "/projects"): Doc(response="ProjectPage", query=RECORD_FILTERS),
    ("POST", "/projects"): Doc(request="TrackerOrderFields", response="TrackerOrder"),
    ("GET", "/projects/{uuid}"): Doc(response="Project"),
    ("PATCH", "/projects/{uuid}"): Doc(request="ProjectPatch", response="TrackerOrder"),
    ("GET", "/projects/{uuid}/log"): Doc(response="TrackerLog"),
    ("GET", "/projects/{uuid}/datasets"): Doc(response="TrackerListPage", query=RECORD_FILTERS),
    ("POST", "/projects/{uuid}/datasets"): Doc(request="TrackerDatasetFields", response="TrackerDataset"),
    ("GET", "/projects/{uuid}/datasets/{dataset}"): Doc(response="TrackerDataset"),
    ("PATCH", "/projects/{uuid}/datasets/{dataset}"): Doc(request="ProjectDatasetPatch", response="TrackerDataset"),
    ("GET", "/projects/{uuid}/datasets/{dataset}/log"): Doc(response="TrackerLog"),
    ("GET", "/collections"): Doc(response="TrackerListPage", query=RECORD_FILTERS),
    ("POST", "/collections"): Doc(request="TrackerCollectionFields", response="TrackerCollection"),
    ("GET", "/collections/{uuid}"): Doc(response="TrackerCollection"),
    ("PATCH", "/collections/{uuid}"): Doc(request="CollectionPatch", response="TrackerCollection"),
    ("GET", "/collections/{uuid}/log"): Doc(response="TrackerLog"),
    ("GET", "/submissions/schemas"): Doc(response="SubmissionTypes"),
    ("GET", "/submissions/schemas/{schema}"): Doc(response="JsonSchemaDocument", query=FORMAT_XML),
    ("POST", "/submissions/validate/{schema}"): Doc(response="SubmissionValidation"),
    ("GET", "/submissions/folders"): Doc(response="FolderPage", query=FOLDER_FILTERS),
    ("POST", "/submissions/folders"): Doc(request="FolderFields", response="Folder"),
    ("GET", "/submissions/folders/{folder_id}"): Doc(response="Folder"),
    ("PATCH", "/submissions/folders/{folder_id}"): Doc(request="FolderPatch", response="Folder"),
    ("POST", "/submissions/folders/{folder_id}/publish"): Doc(response="Folder"),
    ("GET", "/submissions/folders/{folder_id}/objects"): Doc(
        response="SubmittedObjectPage", query=(Param("type", "only objects of this type"), Param("q", "words"), *PAGE)
    ),
    ("POST", "/submissions/folders/{folder_id}/objects/{schema}"): Doc(
        response="AddedObjects", query=(Param("draft", "`true`: as drafts", {"type": "boolean"}),)
    ),
    ("GET", "/submissions/objects/{accession}"): Doc(response="SubmittedObject", query=FORMAT_XML),
    ("PUT", "/submissions/objects/{accession}"): Doc(response="SubmittedObject"),
    ("PATCH", "/submissions/objects/{accession}"): Doc(request="ObjectChanges", response="SubmittedObject"),
}

# the API families, by the start of their paths (longest first wins), with what they are
TAGS: tuple[tuple[str, str, str], ...] = (
    ("/submitter/", "metadata-submitter", "CSC metadata-submitter's REST API (v0.13) over the catalogue's submissions"),
    ("/submissions", "submissions", "ENA metadata submissions: folders, drafts, objects, publish"),
    ("/mymdc/api/", "myMdC", "European XFEL's metadata catalogue API, as metadata_client 4.2.2 calls it"),
    ("/api/v1", "Data Tracker", "SciLifeLab Data Tracker's API (/api/v1): orders, datasets, collections, users, keys"),
    ("/dataset/", "dtool-lookup-server 0.18", "dtool-lookup-server 0.18's routes"),
    ("/admin/", "dtool-lookup-server 0.18", ""),
    ("/uris", "dserver", "dserver's API (dtool-lookup-api 0.10)"),
    ("/uuids", "dserver", ""),
    ("/readmes", "dserver", ""),
    ("/manifests", "dserver", ""),
    ("/annotations/", "dserver", ""),
    ("/tags/", "dserver", ""),
    ("/me", "dserver", ""),
    ("/config/", "dserver", ""),
    ("/annotation-schemas", "annotation schemas", "site-defined JSON Schemas of dataset annotations"),
    ("/archives", "archives", "OAIS archival: SIPs in, AIPs in cold storage, each step's status"),
    ("/projects", "projects", "projects (orders, proposals) and their datasets"),
    ("/collections", "projects", ""),
    ("/users", "users", "users, permissions, API keys"),
    ("/base-uris", "base URIs", "base URIs and who may search or register under them"),
    ("/reconcile", "base URIs", ""),
    ("/datasets", "datasets", "the catalogue's datasets: search, records, README, manifest, log"),
    ("/uploads", "datasets", ""),  # a folder uploaded to S3 becomes a dataset
    ("/facility/", "datasets", ""),
    ("/token", "sign-in", "tokens for dtool's clients"),
    ("/health", "service", "liveness, configuration, this description"),
    ("/config", "service", ""),
    ("/openapi.json", "service", ""),
    ("/docs", "service", ""),
)


def tag_of(route: str) -> str:
    matches = [(prefix, tag) for prefix, tag, _ in TAGS if route.startswith(prefix) or route == prefix.rstrip("/")]
    return max(matches, key=lambda m: len(m[0]))[1] if matches else "other"
