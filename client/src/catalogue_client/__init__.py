"""A Python client of the research-data catalogue (see the repository's README, "Python client")."""

from catalogue_client.auth import ApiKey, Auth, BearerToken, ClientCredentials
from catalogue_client.client import Catalogue
from catalogue_client.errors import (
    CatalogueError,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from catalogue_client.models import Archive, ArchiveStep, Dataset, DatasetRecord, UploadStart, User
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
    "Forbidden",
    "NotFound",
    "Progress",
    "RateLimited",
    "Unauthorized",
    "Unavailable",
    "UploadRefused",
    "UploadStart",
    "User",
]
