"""Search documents derived from dataset records (pure functions).

The README is kept verbatim and also parsed as YAML so that its values are searchable;
parsing refuses aliases (a YAML "billion laughs" expands through them) and caps its input.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from chalicelib.catalogue.search_syntax import annotation_values
from chalicelib.domain import REGISTERED, Dataset

MAX_PARSED_README = 256 * 1024
MAX_TEXT_VALUES = 5000
MAX_RELPATHS = 10_000
_PATH_SPLIT = re.compile(r"[/._\-]+")


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not accepted in a README")
        return super().compose_node(parent, index)


# libyaml's parser when the PyYAML wheel carries it (the Lambda one does): ~7x faster than the
# pure-Python one on hostile input (bench/ingest_limits.py).
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def load_yaml(text: str) -> Any:
    """Parse YAML without aliases; raises whatever PyYAML raises (YAMLError, RecursionError)."""
    if _FAST_LOADER is None:
        return yaml.load(text, Loader=_NoAliasLoader)
    # aliases are refused before anything is built: a "billion laughs" expands through them
    if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=_FAST_LOADER)):
        raise yaml.YAMLError("aliases are not accepted")
    return yaml.load(text, Loader=_FAST_LOADER)


def parse_readme(text: str) -> Any:
    """Parse README YAML; ``None`` when it is not YAML, too large or uses aliases.

    Never raises: a README is whatever its author wrote (400 nested ``[`` make PyYAML's
    recursive composer raise RecursionError), and it must not stop the record's indexing.
    """
    if not text or len(text) > MAX_PARSED_README:
        return None
    try:
        return load_yaml(text)
    except Exception:
        return None


def flatten_text(value: Any, limit: int = MAX_TEXT_VALUES) -> str:
    """Keys and scalar values of a JSON/YAML tree, space separated (bounded)."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack and len(out) < limit:
        v = stack.pop()
        if isinstance(v, dict):
            for k, sub in v.items():
                out.append(str(k))
                stack.append(sub)
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif v is not None:
            out.append(str(v))
    return " ".join(out)


def path_words(relpaths: list[str]) -> list[str]:
    """Each path also as its words, so that ``csv`` or ``probe`` find ``raw/probe_01.csv``:
    the standard analyzer keeps ``probe_01.csv`` as one token."""
    return [" ".join(w for w in _PATH_SPLIT.split(p) if w) for p in relpaths]


def is_searchable(dataset: Dataset) -> bool:
    """Live as searches and summaries see it: not deleted, with a replica, registered (refused
    or incomplete uploads never are). The summary counters count exactly these entries."""
    return not dataset.deleted and bool(dataset.replicas) and dataset.status == REGISTERED


def index_doc(dataset: Dataset) -> dict[str, Any]:
    """The search document of one entry (one per uuid and base URI)."""
    c = dataset.content
    relpaths = [i.relpath for i in list(c.manifest.items.values())[:MAX_RELPATHS]]
    return {
        "entry_id": dataset.entry_id,
        "uuid": c.uuid,
        "version": dataset.version,
        "deleted": not is_searchable(dataset),
        "name": c.name,
        "creator_username": c.creator_username,
        "description": c.description,
        "readme": c.readme,
        "readme_text": flatten_text(parse_readme(c.readme)),
        "annotations_text": flatten_text(dict(c.annotations)),
        "relpaths": relpaths + path_words(relpaths),
        "tags": list(c.tags),
        "base_uris": [dataset.base_uri],
        "uris": [r.uri for r in dataset.replicas],
        "replicas": [r.to_dict() for r in dataset.replicas],
        "annotations": dict(c.annotations),
        "annotation_values": annotation_values(c.annotations),
        "project": c.project,
        "type": c.type,
        "created_at": c.created_at,
        "frozen_at": c.frozen_at,
        "registered_at": dataset.registered_at,
        "updated_at": dataset.updated_at,
        "number_of_items": c.number_of_items,
        "size_in_bytes": c.size_in_bytes,
    }
