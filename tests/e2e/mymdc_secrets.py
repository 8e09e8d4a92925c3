"""A pytest plugin that gives metadata_client's own tests their ``secrets`` module.

metadata_client 4.2.2 ships its API tests without ``metadata_client/tests/common/secrets.py``
(every test module does ``from .common.secrets import *``). Loaded with
``-p tests.e2e.mymdc_secrets``, this plugin registers that module in ``sys.modules`` before
collection, built from the environment, so the tests run unmodified against our stack:

- ``MYMDC_BASE_API_URL`` (e.g. ``http://127.0.0.1:8000/mymdc/api/``),
- ``MYMDC_CLIENT_ID``, ``MYMDC_CLIENT_SECRET``, ``MYMDC_TOKEN_URL``,
- ``MYMDC_USER_EMAIL`` (the acting person the client names in ``X-User-Email``).

The README ("Facility data (XFEL)") shows the whole command.
"""

from __future__ import annotations

import os
import sys
import types

import pytest

MODULE = "metadata_client.tests.common.secrets"


def secrets_module(env: dict[str, str] | os._Environ[str] = os.environ) -> types.ModuleType:
    email = env.get("MYMDC_USER_EMAIL", "daq-operator@example.org")
    module = types.ModuleType(MODULE)
    module.CLIENT_OAUTH2_INFO = {  # type: ignore[attr-defined]
        "EMAIL": email,
        "CLIENT_ID": env["MYMDC_CLIENT_ID"],
        "CLIENT_SECRET": env["MYMDC_CLIENT_SECRET"],
        "AUTH_URL": env["MYMDC_TOKEN_URL"],
        "TOKEN_URL": env["MYMDC_TOKEN_URL"],
        "REFRESH_URL": env["MYMDC_TOKEN_URL"],
        "SCOPE": "",
    }
    module.USER_INFO = {  # type: ignore[attr-defined]
        "EMAIL": email,
        "FIRST_NAME": "",
        "LAST_NAME": "",
        "NAME": "xfel-daq",
        "NICKNAME": "xfel-daq",
        "PROVIDER": "catalogue",
        "UID": "xfel-daq",
    }
    module.BASE_API_URL = env["MYMDC_BASE_API_URL"]  # type: ignore[attr-defined]
    module.__all__ = ["CLIENT_OAUTH2_INFO", "USER_INFO", "BASE_API_URL"]  # type: ignore[attr-defined]
    return module


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    sys.modules.setdefault(MODULE, secrets_module())
