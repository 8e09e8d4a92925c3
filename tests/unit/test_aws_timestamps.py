"""The adapters' clients parse timestamps without dateutil, to the same instants as botocore."""

from __future__ import annotations

from datetime import UTC

import pytest
from botocore.utils import parse_timestamp as botocore_parse
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from chalicelib.adapters.aws import make_client, parse_timestamp

FORMS = [
    "2026-12-07T12:00:00.000Z",  # S3's XML bodies (ListObjectsV2)
    "2026-12-07T12:00:00Z",
    "2026-12-07T12:00:00.123456+02:00",
    "Mon, 07 Dec 2026 12:00:00 GMT",  # S3's headers (GetObject, HeadObject)
    "Mon, 7 Dec 2026 02:03:04 GMT",
    # handed to botocore's parser
    "Mon, 07 Dec 2026 12:00:00 -0000",
    "2026-12-07 12:00:00",
    "1733572800",
    1733572800,
    1733572800.25,
]


@pytest.mark.parametrize("value", FORMS)
def test_the_same_instant_as_botocore(value: object) -> None:
    ours, theirs = parse_timestamp(value), botocore_parse(value)
    assert ours == theirs
    assert (ours.tzinfo is None) == (theirs.tzinfo is None)


@pytest.mark.parametrize("value", ["Mon, 07 Foo 2026 12:00:00 GMT", "not a time", "2026-13-40T00:00:00Z"])
def test_what_botocore_refuses_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        botocore_parse(value)
    with pytest.raises(ValueError):
        parse_timestamp(value)


@given(st.datetimes(timezones=st.just(UTC)).filter(lambda d: d.year >= 1900))
def test_property_both_text_forms_agree_with_botocore(when: object) -> None:
    iso = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # type: ignore[attr-defined]
    http = when.strftime("%a, %d %b %Y %H:%M:%S GMT")  # type: ignore[attr-defined]
    assert parse_timestamp(iso) == botocore_parse(iso)
    assert parse_timestamp(http) == botocore_parse(http)


def test_s3_clients_use_it() -> None:
    """Without the parser, botocore's ``tzutc()`` would come back instead of ``timezone.utc``."""
    with mock_aws():
        s3 = make_client("s3", region="eu-west-1")
        s3.create_bucket(Bucket="stamps", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(Bucket="stamps", Key="k", Body=b"x")
        listed = s3.list_objects_v2(Bucket="stamps")["Contents"][0]["LastModified"]
        got = s3.get_object(Bucket="stamps", Key="k")["LastModified"]
    assert listed.tzinfo is UTC
    assert got.tzinfo is UTC
    assert abs((listed - got).total_seconds()) < 1
