"""DOIs configured in the running app, with the in-memory DataCite as its account."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.composition import install, root
from tests.fakes.datacite import InMemoryDataCite

PREFIX = "10.5072"


def install_dois(prefix: str = PREFIX) -> InMemoryDataCite:
    """Install a root like the current one but with DataCite configured and answered by an
    in-memory account under ``prefix``; the caller reinstalls the old root when done, if it must."""
    fake = InMemoryDataCite(prefix)
    current = root()
    settings = replace(
        current.settings,
        datacite_url="https://api.test.datacite.org",
        datacite_prefix=prefix,
        datacite_secret_id="catalogue/datacite",
    )
    install(current.rewired(settings, datacite=fake))
    return fake
