"""European XFEL's own OAuth2 client (oauth2-xfel-client 6.1.1, as metadata_client 4.2.2 builds
it) against the local stack: a client-credentials token from the stand-in ``/oauth2/token``
acts as the catalogue user ``xfel-daq``; a wrong secret is the client's InvalidClientError."""

from __future__ import annotations

import pytest
import requests
from metadata_client import MetadataClient
from oauth2_xfel_client.oauth2_client_backend import Oauth2ClientBackend
from oauthlib.oauth2.rfc6749.errors import InvalidClientError

from chalicelib import resources
from infra.local.stack import LocalStack


@pytest.fixture
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # the local stack is plain http; oauthlib refuses that without this switch
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    for name in ("NO_PROXY", "no_proxy"):  # requests honours proxies: never for loopback
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def test_metadata_client_token_acts_as_the_service_user(stack: LocalStack, insecure_transport: None) -> None:
    creds = stack.xfel_client
    assert creds.username == resources.XFEL_SERVICE_USER
    assert creds.token_url == f"http://127.0.0.1:{stack.token_port}/oauth2/token"
    assert creds.scope == f"{resources.OAUTH_RESOURCE_SERVER}/{resources.MYMDC_SCOPE}"
    assert stack.state()["oauth2"] == {**vars(creds)}  # what state.json keeps for other processes
    # the stack made the service principal's catalogue record: no admin, no permissions yet
    admin = {"Authorization": f"Bearer {stack.token('admin')}"}
    record = requests.get(f"{stack.api_url}/users/{creds.username}", headers=admin, timeout=30)
    assert record.status_code == 200 and record.json()["is_admin"] is False

    # exactly how metadata_client 4.2.2 is configured (its tests use scope ''); construction
    # fetches the token at once
    client = MetadataClient(
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        token_url=creds.token_url,
        refresh_url=creds.token_url,
        auth_url=creds.token_url,
        scope="",
        user_email="daq@example.org",
        base_api_url=f"{stack.api_url}/mymdc/api/",
    )
    token = client.oauth_client.get_session_token()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert "scope" not in token  # the answer named none, so oauthlib did not warn

    session = client.oauth_client.session  # adds "Authorization: Bearer <token>"
    me = session.get(f"{stack.api_url}/me", timeout=30)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "xfel-daq"
    assert me.json()["is_admin"] is False
    own = session.get(f"{stack.api_url}/users/xfel-daq", timeout=30)
    assert own.status_code == 200 and own.json()["username"] == "xfel-daq"
    # a non-admin: other users' records stay closed
    assert session.get(f"{stack.api_url}/users/admin", timeout=30).status_code == 403


def test_a_wrong_secret_is_invalid_client(stack: LocalStack, insecure_transport: None) -> None:
    creds = stack.xfel_client
    with pytest.raises(InvalidClientError):
        Oauth2ClientBackend(client_id=creds.client_id, client_secret="wrong", scope=None, token_url=creds.token_url)
    with pytest.raises(InvalidClientError):  # and a client that does not exist
        Oauth2ClientBackend(client_id="nosuchclient", client_secret="x", scope=None, token_url=creds.token_url)
    # the user pool's sign-in client has no secret: no client-credentials tokens for it
    with pytest.raises(InvalidClientError):
        Oauth2ClientBackend(client_id=stack.pool.client_id, client_secret="", scope=None, token_url=creds.token_url)
