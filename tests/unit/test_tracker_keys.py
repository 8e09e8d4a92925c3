"""The text forms of API keys and session tokens and their salted hashes (chalicelib.tracker.keys)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.errors import AuthenticationError
from chalicelib.tracker import keys

# FIPS 180-2's SHA-512 test vector for "abc"
SHA512_ABC = (
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
)
KEY_ID = "0123456789abcdef"
SECRET = "A" * 31 + "-_" + "z" * 31


def test_a_new_key_has_a_16_hex_id_and_a_64_char_base64url_secret() -> None:
    key_id, secret = keys.new_key()
    assert re.fullmatch(r"[0-9a-f]{16}", key_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{64}", secret)
    assert keys.new_key() != (key_id, secret)


def test_a_presented_key_parses_back() -> None:
    key_id, secret = keys.new_key()
    text = keys.present(key_id, secret)
    assert text == f"{key_id}.{secret}"
    assert keys.parse_key(text) == (key_id, secret)
    assert keys.parse_key(f"{KEY_ID}.{SECRET}") == (KEY_ID, SECRET)


@pytest.mark.parametrize(
    "text",
    [
        "",
        KEY_ID,
        SECRET,
        f"{KEY_ID}{SECRET}",
        f"{KEY_ID.upper()}.{SECRET}",
        f"{KEY_ID[:-1]}.{SECRET}",
        f"{KEY_ID}0.{SECRET}",
        f"{KEY_ID}.{SECRET[:-1]}",
        f"{KEY_ID}.{SECRET}A",
        f"{KEY_ID}.{SECRET[:-1]}=",
        f"{KEY_ID}.{SECRET}\n",
        f" {KEY_ID}.{SECRET}",
        f"{KEY_ID}.{SECRET[:-1]}+",
        f"dts.{KEY_ID}.{SECRET}",
        None,
        123,
    ],
)
def test_anything_but_the_exact_key_form_is_malformed_and_never_echoed(text: Any) -> None:
    with pytest.raises(AuthenticationError) as caught:
        keys.parse_key(text)
    assert str(caught.value) == "malformed API key"


def test_a_session_token_parses_back_and_is_told_from_a_key() -> None:
    session_id, secret = keys.new_session_token()
    assert re.fullmatch(r"[0-9a-f]{16}", session_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{64}", secret)
    token = keys.present_session(session_id, secret)
    assert token == f"dts.{session_id}.{secret}"
    assert keys.parse_session_token(token) == (session_id, secret)
    assert keys.is_session_token(token)
    assert not keys.is_session_token(keys.present(session_id, secret))
    assert keys.is_session_token("dts.garbage")  # a claim to be one; parsing decides the rest
    assert not keys.is_session_token(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "dts.",
        f"{KEY_ID}.{SECRET}",
        f"DTS.{KEY_ID}.{SECRET}",
        f"dts.{KEY_ID}.{SECRET}.",
        f"dts.{KEY_ID}.{SECRET}\n",
        f"dts..{KEY_ID}.{SECRET}",
        f"dts.{KEY_ID[:-1]}g.{SECRET}",
        None,
    ],
)
def test_anything_but_the_exact_session_form_is_malformed(text: Any) -> None:
    with pytest.raises(AuthenticationError) as caught:
        keys.parse_session_token(text)
    assert str(caught.value) == "malformed session token"


def test_ids_have_the_key_id_form() -> None:
    assert keys.is_key_id(KEY_ID)
    assert not keys.is_key_id(KEY_ID.upper())
    assert not keys.is_key_id(KEY_ID + "\n")
    assert not keys.is_key_id("")


def test_a_salt_is_16_random_bytes_as_hex() -> None:
    salt = keys.new_salt()
    assert re.fullmatch(r"[0-9a-f]{32}", salt)
    assert keys.new_salt() != salt


def test_the_hash_is_sha512_over_the_salt_bytes_then_the_secret() -> None:
    assert keys.hash_secret("abc", "") == SHA512_ABC
    assert keys.hash_secret("bc", "61") == SHA512_ABC  # 0x61 is "a": the salt comes first, as bytes
    assert keys.hash_secret("c", "6162") == SHA512_ABC


def test_equal_secrets_with_different_salts_hash_differently() -> None:
    first, second = keys.new_salt(), keys.new_salt()
    assert keys.hash_secret(SECRET, first) != keys.hash_secret(SECRET, second)
    assert len(keys.hash_secret(SECRET, first)) == 128


def test_verify_accepts_only_the_secret_with_its_salt() -> None:
    salt = keys.new_salt()
    digest = keys.hash_secret(SECRET, salt)
    assert keys.verify(SECRET, salt, digest)
    assert not keys.verify(SECRET[:-1] + "B", salt, digest)
    assert not keys.verify(SECRET, keys.new_salt(), digest)
    assert not keys.verify(SECRET, salt, digest.upper())
    assert not keys.verify(SECRET, salt, digest[:-1])
    assert not keys.verify(SECRET, salt, "")
