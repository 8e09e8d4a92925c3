"""moto's published Cognito development key, read from the installed package without importing moto.

Anyone can sign tokens with it: that is why the verifier refuses it outside the local stage.
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa


def moto_resource(name: str) -> dict[str, Any] | None:
    spec = importlib.util.find_spec("moto")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "cognitoidp" / "resources"
    if (folder / name).exists():
        return json.loads((folder / name).read_text())
    if (folder / f"{name}.gz").exists():
        return json.loads(gzip.decompress((folder / f"{name}.gz").read_bytes()))
    return None


def b64_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def moto_private_key() -> rsa.RSAPrivateKey | None:
    document = moto_resource("jwks-private.json")
    if document is None:
        return None
    jwk = document["keys"][0] if "keys" in document else document
    n, e, d = b64_int(jwk["n"]), b64_int(jwk["e"]), b64_int(jwk["d"])
    p, q = rsa.rsa_recover_prime_factors(n, e, d)
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, n),
    )
    return numbers.private_key()
