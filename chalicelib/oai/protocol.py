"""OAI-PMH 2.0 requests, their errors, dates, set names and resumption tokens. Framework-free.

https://www.openarchives.org/OAI/openarchivesprotocol.html. What a harvester sends is checked
here, before anything is read: :func:`parse_request` gives an :class:`OaiRequest` or raises
:class:`OaiError` with the protocol's error code (answered with HTTP 200, as the protocol
wants). Dates are UTC at second granularity (``YYYY-MM-DDThh:mm:ssZ``); a day
(``YYYY-MM-DD``) is accepted too, ``from`` as its first second and ``until`` as its last
(both bounds are inclusive).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from calendar import timegm
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BAD_VERB = "badVerb"
BAD_ARGUMENT = "badArgument"
BAD_RESUMPTION_TOKEN = "badResumptionToken"
CANNOT_DISSEMINATE_FORMAT = "cannotDisseminateFormat"
ID_DOES_NOT_EXIST = "idDoesNotExist"
NO_RECORDS_MATCH = "noRecordsMatch"
NO_METADATA_FORMATS = "noMetadataFormats"
NO_SET_HIERARCHY = "noSetHierarchy"

GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# the XSD's metadataPrefixType and setSpecType (one part of a setSpec)
PREFIX_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
SET_SPEC_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
MAX_ARGUMENT_CHARS = 2048
LIST_VERBS = ("ListIdentifiers", "ListRecords")


@dataclass(frozen=True)
class _Verb:
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    # the argument that must come alone (resumptionToken), when the verb pages
    exclusive: str | None = None


VERBS: Mapping[str, _Verb] = {
    "Identify": _Verb(),
    "ListMetadataFormats": _Verb(optional=("identifier",)),
    "ListSets": _Verb(exclusive="resumptionToken"),
    "GetRecord": _Verb(required=("identifier", "metadataPrefix")),
    "ListIdentifiers": _Verb(("metadataPrefix",), ("from", "until", "set"), "resumptionToken"),
    "ListRecords": _Verb(("metadataPrefix",), ("from", "until", "set"), "resumptionToken"),
}


class OaiError(Exception):
    """A request the protocol refuses: answered as ``<error code="…">`` with HTTP 200."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class OaiRequest:
    """A checked request: ``verb`` and its ``arguments`` as sent (echoed in ``<request>``);
    ``since``/``until`` are ``from``/``until`` as epoch seconds (inclusive bounds)."""

    verb: str
    arguments: Mapping[str, str]
    since: int | None = None
    until: int | None = None

    def get(self, name: str) -> str | None:
        return self.arguments.get(name)


def parse_request(params: Mapping[str, Sequence[str]]) -> OaiRequest:
    """The request ``params`` (name → every value sent, query and form alike) hold.

    badVerb: no verb, an unknown one, or the verb twice. badArgument: an argument twice, one
    the verb does not take, a required one missing, ``resumptionToken`` beside others, a
    date that is not one, dates of two granularities, ``from`` after ``until``, a
    ``metadataPrefix`` or ``set`` of characters the protocol does not allow.
    """
    verbs = params.get("verb", [])
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise OaiError(BAD_VERB, "the verb is missing, repeated or not one of OAI-PMH's six")
    verb = verbs[0]
    spec = VERBS[verb]
    arguments: dict[str, str] = {}
    for name, values in params.items():
        if name == "verb":
            continue
        if name not in (*spec.required, *spec.optional, spec.exclusive):
            raise OaiError(BAD_ARGUMENT, f"{verb} takes no argument {name!r}")
        if len(values) != 1:
            raise OaiError(BAD_ARGUMENT, f"{name} may be given once")
        if len(values[0]) > MAX_ARGUMENT_CHARS or not values[0]:
            raise OaiError(BAD_ARGUMENT, f"{name} must be 1 to {MAX_ARGUMENT_CHARS} characters")
        arguments[name] = values[0]
    if spec.exclusive and spec.exclusive in arguments:
        if len(arguments) > 1:
            raise OaiError(BAD_ARGUMENT, f"{spec.exclusive} is an exclusive argument: send it with the verb only")
        return OaiRequest(verb, arguments)
    missing = [name for name in spec.required if name not in arguments]
    if missing:
        raise OaiError(BAD_ARGUMENT, f"{verb} needs {', '.join(missing)}")
    prefix = arguments.get("metadataPrefix")
    if prefix is not None and not PREFIX_RE.fullmatch(prefix):
        raise OaiError(BAD_ARGUMENT, "metadataPrefix has characters the protocol does not allow")
    if "set" in arguments and not SET_SPEC_RE.fullmatch(arguments["set"]):
        raise OaiError(BAD_ARGUMENT, "set is not a setSpec")
    since, until = parse_range(arguments.get("from"), arguments.get("until"))
    return OaiRequest(verb, arguments, since, until)


def parse_range(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """``from`` and ``until`` as inclusive epoch seconds (a day: its first or last second)."""
    if since is not None and until is not None and len(since) != len(until):
        raise OaiError(BAD_ARGUMENT, "from and until must have the same granularity")
    low = None if since is None else parse_date(since, "from")
    high = None if until is None else parse_date(until, "until")
    if high is not None and until is not None and _DAY.fullmatch(until):
        high += 86_399
    if low is not None and high is not None and low > high:
        raise OaiError(BAD_ARGUMENT, "from is after until")
    return low, high


def parse_date(value: str, name: str) -> int:
    """A UTC date at second or day granularity, as epoch seconds (its first second)."""
    try:
        if _SECONDS.fullmatch(value):
            return timegm(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").timetuple())
        if _DAY.fullmatch(value):
            return timegm(datetime.strptime(value, "%Y-%m-%d").timetuple())
    except ValueError:
        pass
    raise OaiError(BAD_ARGUMENT, f"{name} is not a UTC date YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")


def utc(epoch: float) -> str:
    """``epoch`` at the repository's granularity (truncated to the second)."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- set names ---------------------------------------------------------------------------------
# A setSpec part allows A-Za-z0-9 and -_.!~*'() only: anything else of a base URI or project
# (":", "/", "%", non-ASCII…) is written as "~" and two hex digits of its UTF-8 bytes, like
# percent-encoding with "~" for "%" ("~" itself is escaped too, so decoding is exact).
_KEPT = re.compile(r"[A-Za-z0-9\-_.!*'()]")
BASE_SET = "base"
PROJECT_SET = "project"


def encode_set_part(value: str) -> str:
    return "".join(c if _KEPT.fullmatch(c) else "".join(f"~{b:02X}" for b in c.encode()) for c in value)


def decode_set_part(part: str) -> str:
    """The value :func:`encode_set_part` encoded; ValueError for anything else."""
    raw = bytearray()
    i = 0
    while i < len(part):
        if part[i] == "~":
            raw += bytes.fromhex(part[i + 1 : i + 3]) if len(part[i + 1 : i + 3]) == 2 else b"\xff"
            i += 3
        else:
            raw += part[i].encode()
            i += 1
    value = raw.decode()
    if encode_set_part(value) != part:
        raise ValueError("not an encoded set name")
    return value


def base_set(base_uri: str) -> str:
    return f"{BASE_SET}:{encode_set_part(base_uri)}"


def project_set(project: str) -> str:
    return f"{PROJECT_SET}:{encode_set_part(project)}"


def in_set(set_specs: Sequence[str], wanted: str) -> bool:
    """Whether a record in ``set_specs`` is in ``wanted`` (a set or an ancestor of one)."""
    return any(spec == wanted or spec.startswith(f"{wanted}:") for spec in set_specs)


# -- resumption tokens -------------------------------------------------------------------------


@dataclass(frozen=True)
class ResumptionToken:
    """Where a list stopped and what it was asked: the verb and arguments of the first
    request, the (datestamp, identifier) of the last item sent (``None``: a list of sets,
    resumed at ``cursor``), how many items were sent before the next page (``cursor``), and
    the expiry (epoch seconds). Opaque to harvesters: base64url of a JSON list. It is not
    signed: all it can name is public, and a changed one is read like any other."""

    verb: str
    arguments: Mapping[str, str]
    after: tuple[int, str] | None
    cursor: int
    expires: int

    def encode(self) -> str:
        after = list(self.after) if self.after is not None else None
        raw = [1, self.verb, dict(sorted(self.arguments.items())), after, self.cursor, self.expires]
        return base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, verb: str, now: float) -> ResumptionToken:
        """The token a list of ``verb`` handed out; badResumptionToken when it is not one (or
        was made for another verb), or has expired."""
        try:
            raw: Any = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            version, made_for, arguments, after, cursor, expires = raw
            if version != 1 or not isinstance(arguments, dict) or "resumptionToken" in arguments:
                raise ValueError("unknown token")
            checked = cls(
                verb=str(made_for),
                arguments={str(k): str(v) for k, v in arguments.items()},
                after=None if after is None else (int(after[0]), str(after[1])),
                cursor=int(cursor),
                expires=int(expires),
            )
        except (binascii.Error, ValueError, TypeError, IndexError, RecursionError) as exc:
            raise OaiError(BAD_RESUMPTION_TOKEN, "the resumptionToken is not one this repository issued") from exc
        if checked.verb != verb:
            raise OaiError(BAD_RESUMPTION_TOKEN, f"the resumptionToken continues a {checked.verb}, not a {verb}")
        if checked.expires < now:
            raise OaiError(BAD_RESUMPTION_TOKEN, "the resumptionToken has expired: start the list again")
        return checked

    def request(self) -> OaiRequest:
        """The first request again (its arguments re-checked: a changed token may hold anything)."""
        try:
            return parse_request({"verb": [self.verb], **{k: [v] for k, v in self.arguments.items()}})
        except OaiError as exc:
            raise OaiError(BAD_RESUMPTION_TOKEN, "the resumptionToken is not one this repository issued") from exc
