"""The identity provider port (Cognito user pools) and its boto3 adapter.

:class:`IdentityProvider` is what the local tooling and the tests need from the service
that owns the catalogue's users and issues their bearer tokens: make and remove users,
sign one in for an access token, and say how those tokens are verified (the
:class:`~chalicelib.config.IssuerConfig` that :class:`chalicelib.identity.tokens.TokenVerifier`
is configured with). The catalogue calls only :meth:`IdentityProvider.sign_in`, for dtool's
token generator (``POST /token``, :mod:`chalicelib.identity.sign_in`); every other request
only verifies tokens. :class:`CognitoIdentityProvider` implements the port over an injected boto3
``cognito-idp`` client, one user pool and one app client. The in-memory fake is
``tests.fakes.identity.InMemoryIdentityProvider``; creating the pool and its app client
is :func:`chalicelib.adapters.provisioning.ensure_user_pool`.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code, transient_as
from chalicelib.config import IssuerConfig

# The claim of a Cognito access token that names the user, and the token kind it marks.
USERNAME_CLAIM = "username"
ACCESS_TOKEN_USE = "access"


class IdentityError(Exception):
    """The identity provider refused an operation (not worth retrying as it is)."""


class ProviderNotFound(IdentityError):
    """The identity provider (the user pool or its app client) does not exist."""


class PasswordRejected(IdentityError):
    """The password does not satisfy the provider's password policy."""


class SignInRefused(IdentityError):
    """A sign-in was refused: :class:`UnknownUser` or :class:`WrongPassword`."""


class UnknownUser(SignInRefused):
    """No user of that name exists."""


class WrongPassword(SignInRefused):
    """The user exists, but the password is not theirs (or the user may not sign in)."""


class SignInChallenged(IdentityError):
    """The password was right, but the provider asks for a further step (a new password, a
    second factor) before it issues tokens; a password flow cannot take that step."""


@dataclass(frozen=True)
class AccessToken:
    """An access token (a JWT, without the ``Bearer`` prefix) and how many seconds after
    its issue it expires (its ``exp`` claim minus its ``iat`` claim)."""

    token: str
    expires_in: int


class IdentityProvider(ABC):
    """The users of one identity provider and the access tokens it issues for them.

    - ``create_user(username, password, email=None)`` MUST leave a user ``username`` who
      signs in with ``password`` at once (no confirmation, no forced password change, no
      invitation sent). It MUST be idempotent: for an existing user it MUST set the
      password (the old one no longer signs in) and leave the rest of the user as it is.
      It returns whether it created the user. A password the provider's policy refuses
      MUST raise :class:`PasswordRejected` and MUST NOT leave a new user behind.
    - ``remove_user(username)`` MUST remove the user for good: it no longer signs in.
      Removing a user that does not exist MUST be harmless.
    - ``sign_in(username, password)`` MUST return an :class:`AccessToken` that the
      :class:`~chalicelib.identity.tokens.TokenVerifier` configured with
      :meth:`issuer_config` accepts, and that names ``username`` in the configured
      username claim. A wrong password MUST raise :class:`WrongPassword`; a user that
      does not exist (never created, or removed) MUST raise :class:`UnknownUser`. (A
      Cognito app client with ``PreventUserExistenceErrors`` enabled hides which users
      exist and answers :class:`WrongPassword` for both; callers that need not tell them
      apart catch :class:`SignInRefused`. ``ensure_user_pool`` makes clients that tell.)
      A right password for which the provider wants a further step MUST raise
      :class:`SignInChallenged`.
    - ``issuer_config()`` MUST say how this provider's access tokens are verified: the
      exact ``iss`` of its tokens, where its signing keys are published (JWKS), its client
      id and ``token_use="access"``. It SHOULD NOT call the provider (it is known from
      the configuration), so it answers even for a provider that does not exist.
    - Every other operation on a provider that does not exist MUST raise
      :class:`ProviderNotFound`; throttling and network failures SHOULD raise
      :class:`~chalicelib.adapters.errors.TransientError`; any other refusal SHOULD raise
      :class:`IdentityError`.
    """

    @abstractmethod
    def create_user(self, username: str, password: str, *, email: str | None = None) -> bool: ...

    @abstractmethod
    def remove_user(self, username: str) -> None: ...

    @abstractmethod
    def sign_in(self, username: str, password: str) -> AccessToken: ...

    @abstractmethod
    def issuer_config(self) -> IssuerConfig: ...


class CognitoIdentityProvider(IdentityProvider):
    """The user pool ``pool_id`` and its app client ``client_id``, through a boto3
    ``cognito-idp`` client.

    Sign-in is ``InitiateAuth`` with ``USER_PASSWORD_AUTH``: the app client needs
    ``ALLOW_USER_PASSWORD_AUTH`` and no secret (see
    :func:`chalicelib.adapters.provisioning.ensure_user_pool`; the CDK stack's client allows
    it), and the caller needs no IAM permission (Cognito evaluates none for it), so the
    API's role holds no Cognito rights. The other operations are the ``Admin*`` calls. The issuer is
    ``https://cognito-idp.<region>.amazonaws.com/<pool id>`` (also under moto, which
    signs with that ``iss``); the JWKS URL is ``<client endpoint>/<pool id>/.well-known/jwks.json``:
    on AWS that is ``issuer + "/.well-known/jwks.json"``, under moto server it is the
    moto server itself (which publishes its development key there, for any pool id).
    """

    def __init__(self, client: Any, pool_id: str, client_id: str) -> None:
        self._client = client
        self.pool_id = pool_id
        self.client_id = client_id

    def create_user(self, username: str, password: str, *, email: str | None = None) -> bool:
        attributes = (
            [] if email is None else [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        )
        created = True
        try:
            with self._errors("AdminCreateUser"):
                self._client.admin_create_user(
                    UserPoolId=self.pool_id, Username=username, MessageAction="SUPPRESS", UserAttributes=attributes
                )
        except _Exists:
            created = False
        try:
            # Without Permanent=True the user stays FORCE_CHANGE_PASSWORD and sign-in
            # answers with a NEW_PASSWORD_REQUIRED challenge instead of tokens.
            with self._errors("AdminSetUserPassword"):
                self._client.admin_set_user_password(
                    UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True
                )
        except PasswordRejected:
            if created:  # no user without a usable password is left behind
                self.remove_user(username)
            raise
        return created

    def remove_user(self, username: str) -> None:
        with contextlib.suppress(UnknownUser), self._errors("AdminDeleteUser"):
            self._client.admin_delete_user(UserPoolId=self.pool_id, Username=username)

    def sign_in(self, username: str, password: str) -> AccessToken:
        with self._errors("InitiateAuth"):
            response = self._client.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        result = response.get("AuthenticationResult")
        if not result:
            challenge = response.get("ChallengeName")
            raise SignInChallenged(f"sign-in of {username!r} answered with challenge {challenge!r} instead of tokens")
        return AccessToken(token=str(result["AccessToken"]), expires_in=int(result["ExpiresIn"]))

    def issuer_config(self) -> IssuerConfig:
        region = self._client.meta.region_name
        endpoint = str(self._client.meta.endpoint_url).rstrip("/")
        return IssuerConfig(
            issuer=f"https://cognito-idp.{region}.amazonaws.com/{self.pool_id}",
            jwks_url=f"{endpoint}/{self.pool_id}/.well-known/jwks.json",
            client_ids=(self.client_id,),
            token_use=ACCESS_TOKEN_USE,
            username_claim=USERNAME_CLAIM,
        )

    @contextlib.contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        """botocore's errors as the port's (and :class:`_Exists` for an existing user)."""
        what = f"{operation} on user pool {self.pool_id}"
        try:
            with transient_as(what):
                yield
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":  # the pool, or the app client
                raise ProviderNotFound(f"{what}: {exc}") from exc
            if code == "UserNotFoundException":
                raise UnknownUser(f"{what}: no such user") from exc
            # wrong password, disabled user, and users who may not sign in yet (unconfirmed,
            # reset required): all one refusal, so none of them says who exists
            if code in ("NotAuthorizedException", "UserNotConfirmedException", "PasswordResetRequiredException"):
                raise WrongPassword(f"{what}: sign-in refused") from exc
            if code == "UsernameExistsException":
                raise _Exists from exc
            if code == "InvalidPasswordException":
                raise PasswordRejected(f"{what}: the password policy refuses this password") from exc
            raise IdentityError(f"{what}: {exc}") from exc


class _Exists(Exception):
    """AdminCreateUser on a user that exists (handled inside the adapter)."""
