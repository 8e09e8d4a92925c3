"""RO-Crate 1.1 metadata (``ro-crate-metadata.json``) of a dataset, built in memory with
ro-crate-py (:func:`ro_crate_metadata`). Framework-free; nothing is written to disk.

What the crate says, from an :class:`~chalicelib.exports.view.ExportView` only:

* the root ``Dataset`` (``./``): ``name``, ``description`` (the name when it has none: 1.1
  requires one), ``datePublished`` (when it was registered here), ``dateModified``,
  ``identifier`` (the DOI's URL when it has one, else ``urn:uuid:<uuid>``), ``keywords`` (its
  tags), ``url`` (its page in the web page), ``contentSize`` (its bytes), ``creator`` and
  ``author`` (a ``Person`` named by the creator's username: the catalogue keeps no personal
  names), ``publisher`` (an ``Organization``: the deployment, with its web page's URL) and
  ``license``;
* one ``File`` data entity per manifest item, by its relpath (percent-encoded as RO-Crate
  requires), with ``contentSize`` and, where known, ``encodingFormat`` (guessed from the
  name) and ``sha256`` (when the manifest's hashes are SHA-256, e.g. a bag's; the term is
  RO-Crate 1.2's, ``http://schema.org/sha256``, added to the context). MD5 hashes (dtool's)
  and S3 ETags have no schema.org property and are left out.

The crate's root is the folder the manifest's relpaths are relative to: the document alone
is the dataset's description (valid as RO-Crate *metadata*), and put beside a copy of the
dataset's files it makes that folder an attached crate (valid as a whole).

**license**: the RO-Crate validator treats a root ``license`` as REQUIRED for 1.1 (the
specification says SHOULD), and the catalogue records none. A ``license`` annotation is used
when the dataset has one (a URL becomes a ``CreativeWork`` entity); otherwise the crate says,
in words (which 1.1 allows), that no licence is recorded: true, and valid.

Crates of more than :data:`MAX_FILES` files list none of them (the metadata would be larger
than a Lambda answer); ``contentSize`` and the file count (``description``) still say what
the dataset holds. ``rocrate`` is imported inside the function: it costs about 120 ms at a
cold start (with ``requests``, which it imports), paid by the first RO-Crate export only.
"""

from __future__ import annotations

import mimetypes
import re
from typing import Any
from urllib.parse import urlsplit

from chalicelib.exports.view import ExportView

RO_CRATE_VERSION = "1.1"
RO_CRATE_PROFILE = f"https://w3id.org/ro/crate/{RO_CRATE_VERSION}"
MEDIA_TYPE = f'application/ld+json;profile="{RO_CRATE_PROFILE}"'
MAX_FILES = 10_000
NO_LICENCE = "No licence is recorded in the catalogue for this dataset: ask its creator before reusing it."
SHA256_TERM = {"sha256": "http://schema.org/sha256"}
_SHA256_FUNCTIONS = frozenset({"sha256"})
_LICENCE_KEYS = ("license", "licence")
_URL = re.compile(r"https?://[^\s<>\"{}|\\^`]+")  # anything else is the licence in words


def ro_crate_metadata(view: ExportView) -> dict[str, Any]:
    """The dataset's ``ro-crate-metadata.json`` document (RO-Crate 1.1)."""
    from rocrate.model.contextentity import ContextEntity
    from rocrate.model.person import Person
    from rocrate.rocrate import ROCrate

    crate = ROCrate(version=RO_CRATE_VERSION)
    root = crate.root_dataset
    crate.name = view.name
    files = len(view.items)
    described = view.description or view.name
    if files > MAX_FILES:
        described += f" ({files} files, not listed here)"
    crate.description = described
    crate.datePublished = view.registered_iso
    root["dateModified"] = view.updated_iso
    root["identifier"] = view.doi_url or f"urn:uuid:{view.uuid}"
    root["contentSize"] = str(view.size_in_bytes)
    if view.tags:
        crate.keywords = list(dict.fromkeys(view.tags))
    if view.landing_url:
        root["url"] = view.landing_url
    if view.creator_username:
        creator = crate.add(Person(crate, "#creator", properties={"name": view.creator_username}))
        crate.creator = creator
        root["author"] = creator  # RO-Crate 1.1's own term for it (the validator recommends it)
    publisher: dict[str, Any] = {"@type": "Organization", "name": view.publisher}
    site = urlsplit(view.landing_url)
    if site.scheme in ("https", "http") and site.netloc:
        publisher["url"] = f"{site.scheme}://{site.netloc}/"  # the catalogue's web page
    crate.publisher = crate.add(ContextEntity(crate, "#publisher", properties=publisher))
    licence = _licence(view)
    if _URL.fullmatch(licence):
        crate.license = crate.add(ContextEntity(crate, licence, properties={"@type": "CreativeWork", "name": licence}))
    else:
        crate.license = licence

    sha256 = view.hash_function in _SHA256_FUNCTIONS
    if files <= MAX_FILES:
        for item in view.items:
            properties: dict[str, Any] = {"contentSize": str(item.size_in_bytes)}
            media_type, _ = mimetypes.guess_type(item.relpath, strict=False)
            if media_type:
                properties["encodingFormat"] = media_type
            if sha256 and item.hash:
                properties["sha256"] = item.hash
            crate.add_file(dest_path=item.relpath, properties=properties)
    if sha256 and files and files <= MAX_FILES:
        crate.metadata.extra_terms.update(SHA256_TERM)
    document: dict[str, Any] = crate.metadata.generate()
    return document


def _licence(view: ExportView) -> str:
    for key in _LICENCE_KEYS:
        value = view.annotations.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return NO_LICENCE
