"""What the routing table cannot tell of an operation: its query parameters, the shape of its
body and answer, and the API family it belongs to. Here the catalogue's own routes; the APIs
it stands in for are in :mod:`chalicelib.openapi.compat_operations`.

Everything else (paths, path parameters, methods, content types, who may call, success
statuses, summaries) is read off the routes and their handlers by
:mod:`chalicelib.openapi.document`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.archive.model import STATUSES as ARCHIVE_STATUSES
from chalicelib.domain import KINDS
from chalicelib.exports.collections import RECORD_FORMATS
from chalicelib.exports.formats import FORMATS as EXPORT_FORMATS
from chalicelib.exports.formats import names as export_names
from chalicelib.openapi.request_schemas import BASE_URI as BASE_URI_SCHEMA
from chalicelib.openapi.request_schemas import TAGS as TAGS_SCHEMA
from chalicelib.openapi.request_schemas import USERNAME as USERNAME_SCHEMA
from chalicelib.openapi.request_schemas import UUID as UUID_SCHEMA
from chalicelib.openapi.schemas import JSON
from chalicelib.openapi.shapes import sort_pattern


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    schema: JSON = field(default_factory=lambda: {"type": "string"})
    repeatable: bool = False
    required: bool = False


@dataclass(frozen=True)
class Refusal:
    """A refusal that no schema can state: the input ``field`` (``*``: any) is refused with a
    message holding ``message`` because of another field's value or of what is stored (e.g. a
    base URI that is not registered): our 400 ``{"Field", "Message"}``, or myMdC's 422 ``{"info":
    {field: [message, ...]}}``. The description lists them (``x-refusals``); the fuzz test
    accepts such an answer to input the schemas allow, and no other."""

    field: str
    message: str


@dataclass(frozen=True)
class Doc:
    """``request``/``response``: a component schema's name; ``query``: its parameters;
    ``path``: schemas of path parameters where :data:`PATH_PARAMETERS` has none or another;
    ``refusals``: the 400s its schemas cannot state; ``media``: the types of its success
    answers (JSON unless said)."""

    request: str | None = None
    response: str | None = None
    query: tuple[Param, ...] = ()
    path: tuple[Param, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    media: tuple[str, ...] = ("application/json",)


# path parameters by name: what every route naming one takes (Doc.path overrides per operation)
PATH_PARAMETERS: dict[str, JSON] = {
    "uuid": UUID_SCHEMA,
    "dataset": UUID_SCHEMA,
    "user_id": UUID_SCHEMA,
    "base_uri": BASE_URI_SCHEMA,
    "username": USERNAME_SCHEMA,
    "archive_id": {"type": "string", "pattern": "^ar-[0-9a-f]{24}$"},
}

PAGE = (
    Param("page", "the page, from 1", {"type": "integer", "minimum": 1, "maximum": 10**6}),
    Param("page_size", "items per page", {"type": "integer", "minimum": 1, "maximum": 100}),
)
CURSOR = {"type": "string", "minLength": 1, "maxLength": 8192}
LOG = (
    Param("limit", "entries per page", {"type": "integer", "minimum": 1, "maximum": 100}),
    Param("after", "the cursor of the next page (the previous answer's `next`)", CURSOR),
)
# an `after` is an opaque cursor this API made: any other string is refused
NOT_A_CURSOR = Refusal("after", "cursor")
FILTERS = (
    Param(
        "q",
        "words, each of which must match somewhere (name, description, README, annotations, file paths): "
        "whole, or by its beginning (2 to 20 characters) in the name, description or README (`temp` finds "
        "`temperature-sweep`); `calib*`: by its beginning in any of them. Annotation clauses, all of which "
        "must hold: `annotations.KEY>=N` (`>`, `<`, `<=`; numbers), `annotations.KEY:[A TO B]` (`{}` "
        'exclusive, `*` open), `annotations.KEY:VALUE` (equal number or exact string; `"..."` with '
        "spaces), `annotations.KEY:*` or `_exists_:annotations.KEY` (set); a nested value by its path "
        "(`annotations.sample.id`). A malformed clause is a 400 naming it",
    ),
    Param("base_uri", "only datasets under this base URI", BASE_URI_SCHEMA, repeatable=True),
    Param("creator", "only datasets of this creator", {"type": "string", "maxLength": 256}, repeatable=True),
    Param("tag", "only datasets with every one of these tags", TAGS_SCHEMA["items"], repeatable=True),
    Param("uuid", "only this dataset", UUID_SCHEMA, repeatable=True),
    Param("project", "only datasets of this project", {"type": "string", "minLength": 1, "maxLength": 256}, True),
    Param(
        "type",
        "only datasets of this kind (see `kind`)",
        {"enum": list(KINDS)},
        repeatable=True,
    ),
)
SEARCH = (
    *FILTERS,
    Param(
        "sort",
        "one of registered (the default: `-registered`), created, frozen, updated, name; `-`: descending",
        {"enum": [f"{d}{k}" for k in ("registered", "created", "frozen", "updated", "name") for d in ("", "-")]},
    ),
    Param("page", "the page, from 1", {"type": "integer", "minimum": 1, "maximum": 10_000}),
    Param("page_size", "items per page", {"type": "integer", "minimum": 1, "maximum": 100}),
    Param("after", "the cursor of the next page (deep paging)", CURSOR),
    Param(
        "highlight",
        "`true`: each item of a search with `q` has `highlights`, per field the snippets where the words "
        "matched, HTML-escaped with the words in `<mark>`…`</mark>`",
        {"type": "boolean", "default": False},
    ),
)
BASE_URI = (Param("base_uri", "which entry, when the uuid is registered under several base URIs", BASE_URI_SCHEMA),)
# what a registration's schema cannot say: its uri lies under its base_uri, which is registered
REGISTRATION_REFUSALS = (Refusal("uri", "must lie under base_uri"), Refusal("base_uri", "is not registered"))
# a search's page may not reach past the 10,000th hit: deeper, follow the `after` cursor
# a malformed annotation clause in q (annotations.x>=abc) is refused, naming the clause
BAD_CLAUSE = Refusal("q", "annotation clause")
SEARCH_REFUSALS = (Refusal("page", "may not exceed 10000"), NOT_A_CURSOR, BAD_CLAUSE)
FORMAT_XML = (Param("format", "`xml`: the object as ENA XML (default JSON)"),)
FORMAT_XSD = (Param("format", "`xsd` or `xml`: the type's XML Schema (default: its JSON Schema)"),)
JSON_OR_XML = ("application/json", "application/xml")
# the exports' media types: by URL (/export/{format}) and by content negotiation (Accept)
EXPORT_MEDIA = tuple(dict.fromkeys(f.media_type for f in EXPORT_FORMATS))
NEGOTIATED = tuple(dict.fromkeys(f.media_type for f in EXPORT_FORMATS if f.accepts))
# a project's or collection's exports (the formats with a place for a group of datasets)
RECORD_EXPORT_MEDIA = tuple(dict.fromkeys(f.media_type for f in RECORD_FORMATS))
RECORD_EXPORT = Doc(
    path=(
        Param(
            "format",
            "the export format (see README, Exports: Projects and collections)",
            {"type": "string", "enum": [f.name for f in RECORD_FORMATS]},
        ),
    ),
    media=RECORD_EXPORT_MEDIA,
)


def sorted_page(*fields: str) -> tuple[Param, ...]:
    """A page of a list sorted by ``fields`` (as ``_smorest.parse_sort`` takes them)."""
    sort = Param(
        "sort",
        "fields to sort by, comma-separated (`-`: descending)",
        {"type": "string", "pattern": sort_pattern(fields)},
    )
    return (*PAGE, sort)


FOLDER_FILTERS = (
    Param("published", "only published folders (`true`) or drafts (`false`)", {"enum": ["true", "false"]}),
    Param("q", "words of the name"),
    *PAGE,
)

# OAI-PMH's arguments: any string (the protocol answers every request with 200 and its own
# error codes, badVerb and badArgument included, so no value is one the API refuses)
OAI_PARAMS = (
    Param("verb", "Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords or GetRecord"),
    Param("identifier", "a record's identifier, `oai:<repository identifier>:<uuid>`"),
    Param("metadataPrefix", "`oai_dc`, `oai_datacite` or `datacite`"),
    Param("from", "the earliest datestamp, `YYYY-MM-DDThh:mm:ssZ` or `YYYY-MM-DD` (inclusive)"),
    Param("until", "the latest datestamp, as `from` (inclusive)"),
    Param("set", "a setSpec of ListSets: `base:<base URI>`, `project:<project>` (or `base`, `project`)"),
    Param("resumptionToken", "the previous page's token (alone with the verb)"),
)
XML_TEXT = ("text/xml",)

# (method, route) -> what the description adds; routes not named here get the defaults
DOCS: dict[tuple[str, str], Doc] = {
    ("GET", "/oai"): Doc(query=OAI_PARAMS, media=XML_TEXT),
    ("POST", "/oai"): Doc(media=XML_TEXT),
    ("GET", "/health"): Doc(response="Health"),
    ("GET", "/docs"): Doc(media=("text/html",)),
    ("GET", "/docs/{asset}"): Doc(media=("application/javascript", "text/css", "text/html")),
    ("GET", "/config"): Doc(response="PublicConfig"),
    ("POST", "/token"): Doc(request="Credentials", response="Token"),
    ("GET", "/datasets"): Doc(response="DatasetPage", query=SEARCH, refusals=SEARCH_REFUSALS),
    ("POST", "/datasets"): Doc(request="Registration", response="RegistrationResult", refusals=REGISTRATION_REFUSALS),
    ("GET", "/datasets/summary"): Doc(response="Summary"),  # over all one may see: filtered counts are /facets
    ("GET", "/datasets/facets"): Doc(response="Facets", query=FILTERS, refusals=(BAD_CLAUSE,)),
    ("POST", "/uploads"): Doc(
        request="UploadRequest",
        response="UploadForm",
        refusals=(
            Refusal("base_uri", "is not registered"),
            Refusal("base_uri", "s3:// base URIs only"),
            Refusal("base_uri", "nobody uploads folders to"),
            Refusal("folder", "nobody uploads folders to"),
            Refusal("folder", "lies under the base URI"),
        ),
    ),
    ("GET", "/datasets/{uuid}"): Doc(response="Dataset", query=BASE_URI, media=("application/json", *NEGOTIATED)),
    ("GET", "/datasets/{uuid}/export/{format}"): Doc(
        query=BASE_URI,
        path=(Param("format", "the export format (see README, Exports)", {"type": "string", "enum": export_names()}),),
        media=EXPORT_MEDIA,
    ),
    ("PATCH", "/datasets/{uuid}"): Doc(request="DatasetPatch", response="Dataset", query=BASE_URI),
    ("GET", "/datasets/{uuid}/readme"): Doc(response="DatasetReadme", query=BASE_URI),
    ("GET", "/datasets/{uuid}/manifest"): Doc(response="Manifest", query=BASE_URI),
    ("GET", "/datasets/{uuid}/items/{id}/url"): Doc(
        response="ItemUrl",
        query=BASE_URI,
        path=(
            Param(
                "id",
                "the item's id in the dataset's manifest (dtool: the sha1 of its relpath)",
                {"type": "string", "minLength": 1, "maxLength": 200},
            ),
        ),
    ),
    ("POST", "/datasets/{uuid}/doi"): Doc(response="Doi", query=BASE_URI),
    ("GET", "/datasets/{uuid}/doi"): Doc(response="Doi", query=BASE_URI),
    ("POST", "/datasets/{uuid}/doi/publish"): Doc(response="Doi", query=BASE_URI),
    ("DELETE", "/datasets/{uuid}/doi"): Doc(query=BASE_URI),
    ("GET", "/datasets/{uuid}/annotations"): Doc(response="DatasetAnnotations", query=BASE_URI),
    ("GET", "/datasets/{uuid}/tags"): Doc(response="DatasetTags", query=BASE_URI),
    ("DELETE", "/datasets/{uuid}/replicas"): Doc(response="ReplicaDeleted", query=(Param("uri", "the replica"),)),
    ("GET", "/datasets/{uuid}/log"): Doc(response="Log", query=(*BASE_URI, *LOG), refusals=(NOT_A_CURSOR,)),
    ("GET", "/users/{username}/log"): Doc(response="Log", query=LOG, refusals=(NOT_A_CURSOR,)),
    ("GET", "/base-uris/{base_uri}/log"): Doc(response="Log", query=LOG, refusals=(NOT_A_CURSOR,)),
    ("GET", "/facility/{kind}/{id}/log"): Doc(response="Log", query=LOG, refusals=(NOT_A_CURSOR,)),
    ("GET", "/submissions/folders/{folder_id}/log"): Doc(response="Log", query=LOG, refusals=(NOT_A_CURSOR,)),
    ("GET", "/submissions/objects/{accession}/log"): Doc(response="Log", query=LOG, refusals=(NOT_A_CURSOR,)),
    ("GET", "/users"): Doc(response="UserList", query=sorted_page("username", "is_admin")),
    ("POST", "/users"): Doc(request="NewUser", response="User"),
    ("GET", "/users/me"): Doc(response="User"),
    ("GET", "/users/{username}"): Doc(response="User"),
    ("PATCH", "/users/{username}"): Doc(request="UserPatch", response="User"),
    ("DELETE", "/users/{username}"): Doc(response="Deleted"),
    ("PUT", "/users/{username}/topics"): Doc(request="Topics", response="User"),
    ("GET", "/users/me/keys"): Doc(response="ApiKeyPage", query=PAGE),
    ("GET", "/users/{username}/keys"): Doc(response="ApiKeyPage", query=PAGE),
    ("GET", "/base-uris"): Doc(response="BaseUriList", query=sorted_page("base_uri")),
    ("POST", "/base-uris"): Doc(request="NewBaseUri", response="BaseUri"),
    ("GET", "/base-uris/{base_uri}"): Doc(response="BaseUri"),
    ("DELETE", "/base-uris/{base_uri}"): Doc(response="Deleted"),
    ("PATCH", "/base-uris/{base_uri}"): Doc(request="BaseUriPatch", response="BaseUri"),
    ("POST", "/base-uris/{base_uri}/index"): Doc(
        response="IndexStarted", refusals=(Refusal("base_uri", "only s3:// base URIs of data"),)
    ),
    ("GET", "/archives"): Doc(
        response="ArchivePage",
        query=(
            Param("status", "only archives in this status", {"enum": list(ARCHIVE_STATUSES)}),
            Param("dataset", "only this dataset's", UUID_SCHEMA),
            Param("page", "the page, from 1", {"type": "integer", "minimum": 1, "maximum": 10_000}),
            Param("page_size", "items per page", {"type": "integer", "minimum": 1, "maximum": 100}),
        ),
    ),
    ("POST", "/archives"): Doc(request="DepositRequest", response="DepositUpload"),
    # every refusal of a source (form, allow-list, addresses, caps, record, checksums) says so
    ("POST", "/harvests"): Doc(
        request="HarvestRequest", response="Harvest", refusals=(Refusal("source", "the source cannot be harvested"),)
    ),
    ("GET", "/archives/{archive_id}"): Doc(response="Archive"),
    ("POST", "/datasets/{uuid}/archive"): Doc(response="Archive", query=BASE_URI),
    ("POST", "/archives/{archive_id}/retry"): Doc(response="Archive"),
    ("GET", "/archives/{archive_id}/download"): Doc(
        response="ArchiveDownload", query=(Param("after", "the `next` of the previous page"),)
    ),
    ("GET", "/annotation-schemas"): Doc(response="AnnotationSchemaList"),
    ("POST", "/annotation-schemas"): Doc(
        request="NewAnnotationSchema",
        response="AnnotationSchema",
        # a JSON Schema the catalogue can hold (its keywords, no remote $ref): checked by the service
        refusals=(Refusal("schema", "cannot be registered"),),
    ),
    ("GET", "/annotation-schemas/{name}"): Doc(response="AnnotationSchema"),
    ("GET", "/annotation-schemas/{name}/versions/{version}"): Doc(response="AnnotationSchema"),
    ("GET", "/projects/{uuid}"): Doc(response="Project", media=("application/json", *RECORD_EXPORT_MEDIA)),
    ("GET", "/projects/{uuid}/export/{format}"): RECORD_EXPORT,
    ("PATCH", "/projects/{uuid}"): Doc(request="ProjectPatch", response="TrackerOrder"),
    ("GET", "/projects/{uuid}/log"): Doc(response="TrackerLog"),
    ("POST", "/projects/{uuid}/datasets"): Doc(request="TrackerDatasetFields", response="TrackerDataset"),
    ("GET", "/projects/{uuid}/datasets/{dataset}"): Doc(response="TrackerDataset"),
    ("PATCH", "/projects/{uuid}/datasets/{dataset}"): Doc(request="ProjectDatasetPatch", response="TrackerDataset"),
    ("GET", "/projects/{uuid}/datasets/{dataset}/log"): Doc(response="TrackerLog"),
    ("GET", "/collections/{uuid}"): Doc(response="TrackerCollection", media=("application/json", *RECORD_EXPORT_MEDIA)),
    ("GET", "/collections/{uuid}/export/{format}"): RECORD_EXPORT,
    ("PATCH", "/collections/{uuid}"): Doc(request="CollectionPatch", response="TrackerCollection"),
    ("GET", "/collections/{uuid}/log"): Doc(response="TrackerLog"),
    ("GET", "/submissions/schemas"): Doc(response="SubmissionTypes"),
    ("GET", "/submissions/schemas/{schema}"): Doc(response="JsonSchemaDocument", query=FORMAT_XSD, media=JSON_OR_XML),
    ("POST", "/submissions/validate/{schema}"): Doc(response="SubmissionValidation"),
    ("GET", "/submissions/folders"): Doc(response="FolderPage", query=FOLDER_FILTERS),
    ("GET", "/submissions/folders/{folder_id}"): Doc(response="Folder"),
    ("PATCH", "/submissions/folders/{folder_id}"): Doc(request="FolderPatch", response="Folder"),
    ("POST", "/submissions/folders/{folder_id}/publish"): Doc(response="Folder"),
    ("GET", "/submissions/folders/{folder_id}/objects"): Doc(
        response="SubmittedObjectPage", query=(Param("type", "only objects of this type"), Param("q", "words"), *PAGE)
    ),
    ("POST", "/submissions/folders/{folder_id}/objects/{schema}"): Doc(
        response="AddedObjects", query=(Param("draft", "`true`: as drafts", {"type": "boolean"}),)
    ),
    ("GET", "/submissions/objects/{accession}"): Doc(response="SubmittedObject", query=FORMAT_XML, media=JSON_OR_XML),
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
    ("/harvests", "archives", ""),  # upstream records (InvenioRDM, Zenodo) into the archive
    ("/projects", "projects", "projects (orders, proposals) and their datasets"),
    ("/collections", "projects", ""),
    ("/users", "users", "users, permissions, API keys"),
    ("/base-uris", "base URIs", "base URIs and who may search or register under them"),
    ("/reconcile", "base URIs", ""),
    ("/datasets", "datasets", "the catalogue's datasets: search, records, README, manifest, log"),
    ("/uploads", "datasets", ""),  # a folder uploaded to S3 becomes a dataset
    ("/facility/", "datasets", ""),
    ("/token", "sign-in", "tokens for dtool's clients"),
    ("/oai", "harvesting", "OAI-PMH 2.0: the public datasets for harvesters"),
    ("/health", "service", "liveness, configuration, this description"),
    ("/config", "service", ""),
    ("/openapi.json", "service", ""),
    ("/docs", "service", ""),
)


def tag_of(route: str) -> str:
    matches = [(prefix, tag) for prefix, tag, _ in TAGS if route.startswith(prefix) or route == prefix.rstrip("/")]
    return max(matches, key=lambda m: len(m[0]))[1] if matches else "other"
