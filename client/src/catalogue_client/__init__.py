"""A Python client of the research-data catalogue (see the repository's README, "Python client")."""

from catalogue_client.auth import ApiKey, Auth, BearerToken, ClientCredentials
from catalogue_client.client import Catalogue, Filters
from catalogue_client.errors import (
    CatalogueError,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from catalogue_client.models import Archive, ArchiveStep, Dataset, DatasetRecord, Kind, UploadStart, User
from catalogue_client.uploads import Progress, UploadRefused

__all__ = [
    "ApiKey",
    "Archive",
    "ArchiveStep",
    "Auth",
    "BearerToken",
    "Catalogue",
    "CatalogueError",
    "ClientCredentials",
    "Conflict",
    "Dataset",
    "DatasetRecord",
    "Filters",
    "Forbidden",
    "Kind",
    "NotFound",
    "Progress",
    "RateLimited",
    "Unauthorized",
    "Unavailable",
    "UploadRefused",
    "UploadStart",
    "User",
]
