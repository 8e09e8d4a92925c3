"""Who signs in, for one stage: a new Cognito user pool with its app clients and domain, or an
existing OIDC issuer (stage setting ``oidc``). Everything is created in the stack's own scope,
so logical ids do not depend on this module.

- the CLI's client (``POST /token``: dtool's token generator, password sign-in),
- the pool's domain (its ``/oauth2/authorize`` and ``/oauth2/token``),
- European XFEL's client-credentials client (``catalogue/mymdc`` scope),
- the web page's public client (:class:`infra.stacks.web.WebPage`, code flow with PKCE),
- the Data Tracker's sign-in client when ``sign_in_callback_url`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito

from chalicelib import resources
from infra.stacks.naming import Names
from infra.stacks.scanners import Accepted, accept
from infra.stacks.settings import StageConfig
from infra.stacks.web import WebPage

ADMIN_GROUP = "catalogue-admins"


@dataclass
class Identity:
    """What the functions' environment and the web page's ``config.json`` need."""

    issuers: list[dict[str, Any]]  # CATALOGUE_OIDC_ISSUERS
    user_pool: cognito.UserPool | None = None
    user_pool_client: cognito.UserPoolClient | None = None
    # CATALOGUE_OIDC_LOGINS: the Data Tracker's sign-in services
    oidc_logins: list[dict[str, Any]] = field(default_factory=list)
    # the pool domain's token endpoint, named in /openapi.json ("" with an external issuer)
    client_credentials_token_url: str = ""
    # the page's sign-in (authorize/token URLs, client id, scope; empty with an external issuer)
    web_sign_in: dict[str, str] = field(default_factory=dict)


def build_identity(stack: Stack, config: StageConfig, names: Names, removal: RemovalPolicy, web: WebPage) -> Identity:
    """The stage's issuers: a new Cognito pool, or the existing issuer of the stage config."""
    if config.oidc is not None:
        CfnOutput(stack, "OidcIssuer", value=config.oidc.issuer)
        return Identity(issuers=[config.oidc.as_issuer_config()])
    pool = cognito.UserPool(
        stack,
        "UserPool",
        user_pool_name=names.regional(resources.USER_POOL_NAME),
        self_sign_up_enabled=False,
        sign_in_aliases=cognito.SignInAliases(username=True, email=True),
        password_policy=cognito.PasswordPolicy(min_length=12),
        mfa=cognito.Mfa.OPTIONAL,
        mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
        account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
        deletion_protection=config.retain,
        removal_policy=removal,
    )
    accept(
        pool,
        Accepted(
            "Passwords of at least 12 characters without composition rules, as NIST SP 800-63B 5.1.1.2 advises; "
            "the app also limits failed sign-ins per user and address (chalicelib/identity/sign_in.py).",
            nag=("AwsSolutions-COG1",),
        ),
    )
    accept(
        pool,
        Accepted(
            "MFA is optional (TOTP): dtool and metadata_client sign in through POST /token with a password and "
            "have no second-factor step. A site that needs MFA uses its own OIDC issuer (stage setting oidc).",
            nag=("AwsSolutions-COG2",),
        ),
    )
    accept(
        pool,
        Accepted(
            "The Essentials feature plan: the Plus plan's threat protection costs $0.02 per monthly active user "
            "more; sign-ins are throttled per route and failed ones limited per user by the app.",
            nag=("AwsSolutions-COG8",),
        ),
    )
    client = pool.add_client(
        "CliClient",
        user_pool_client_name=names.regional(resources.USER_POOL_CLIENT_NAME),
        generate_secret=False,
        # user_password: POST /token (dtool's token generator) signs users in with
        # USER_PASSWORD_AUTH, an InitiateAuth call that needs no IAM permission
        auth_flows=cognito.AuthFlow(user_password=True, user_srp=True, admin_user_password=True),
        access_token_validity=Duration.hours(1),
        refresh_token_validity=Duration.days(30),
        prevent_user_existence_errors=True,
        # no hosted-UI flows (CDK's default is code + implicit to https://example.com, which
        # the pool's Cognito domain, made for client credentials, would otherwise serve)
        disable_o_auth=True,
    )
    cognito.CfnUserPoolGroup(
        stack,
        "AdminGroup",
        user_pool_id=pool.user_pool_id,
        group_name=ADMIN_GROUP,
        description="Catalogue administrators (the catalogue's own admin flag lives in the access table)",
    )
    CfnOutput(stack, "UserPoolId", value=pool.user_pool_id)
    CfnOutput(stack, "UserPoolClientId", value=client.user_pool_client_id)
    domain = pool.add_domain(
        "Domain",
        cognito_domain=cognito.CognitoDomainOptions(domain_prefix=names.domain_prefix(resources.USER_POOL_DOMAIN)),
    )
    xfel = _client_credentials(stack, names, pool, domain)
    page = web.sign_in_client(pool, names)
    found = Identity(
        issuers=[],
        user_pool=pool,
        user_pool_client=client,
        client_credentials_token_url=f"{domain.base_url()}/oauth2/token",
        web_sign_in={
            "authorize_url": f"{domain.base_url()}/oauth2/authorize",
            "token_url": f"{domain.base_url()}/oauth2/token",
            "client_id": page.user_pool_client_id,
            "scope": "openid email profile",
        },
    )
    client_ids = [client.user_pool_client_id, page.user_pool_client_id]
    if config.sign_in_callback_url:
        client_ids.append(_tracker_sign_in(stack, names, pool, domain, config.sign_in_callback_url, found))
    issuer = pool.user_pool_provider_url  # https://cognito-idp.<region>.amazonaws.com/<pool id>
    found.issuers.append(
        {
            "issuer": issuer,
            "jwks_url": f"{issuer}/.well-known/jwks.json",
            "client_ids": client_ids,
            "token_use": "access",
            "username_claim": "username",
            # client-credentials tokens name no user: the app client maps to one
            "service_clients": {xfel.user_pool_client_id: resources.XFEL_SERVICE_USER},
        }
    )
    return found


def _tracker_sign_in(
    stack: Stack,
    names: Names,
    pool: cognito.UserPool,
    domain: cognito.UserPoolDomain,
    callback: str,
    found: Identity,
) -> str:
    """The Data Tracker's sign-in (``/api/v1/login/oidc/cognito/``): a public app client
    (no secret: Cognito then requires PKCE of it, which the catalogue sends) with the
    authorization-code flow to ``callback`` only, through the pool's hosted UI. Returns
    its client id (its users' tokens are accepted like the CLI client's)."""
    web = pool.add_client(
        "WebSignInClient",
        user_pool_client_name=names.regional(resources.WEB_SIGN_IN_CLIENT_NAME),
        generate_secret=False,
        auth_flows=cognito.AuthFlow(user_srp=True),
        o_auth=cognito.OAuthSettings(
            flows=cognito.OAuthFlows(authorization_code_grant=True),
            scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
            callback_urls=[callback],
        ),
        supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
        access_token_validity=Duration.hours(1),
        prevent_user_existence_errors=True,
    )
    found.oidc_logins.append(
        {
            "name": "cognito",
            "authorize_url": f"{domain.base_url()}/oauth2/authorize",
            "token_url": f"{domain.base_url()}/oauth2/token",
            "client_id": web.user_pool_client_id,
            "redirect_uri": callback,
        }
    )
    CfnOutput(stack, "WebSignInClientId", value=web.user_pool_client_id)
    return web.user_pool_client_id


def _client_credentials(
    stack: Stack, names: Names, pool: cognito.UserPool, domain: cognito.UserPoolDomain
) -> cognito.UserPoolClient:
    """OAuth2 client credentials for European XFEL's DAQ (metadata_client): the resource
    server scope ``catalogue/mymdc``, the pool's Cognito domain (it serves ``/oauth2/token``)
    and an app client with a secret for that grant and scope only. Its tokens act as the
    catalogue user ``xfel-daq`` (an admin grants it its rights). The secret is never an
    output: ``aws cognito-idp describe-user-pool-client`` shows it to an operator."""
    mymdc = cognito.ResourceServerScope(
        scope_name=resources.MYMDC_SCOPE, scope_description="myMdC API (European XFEL's metadata_client)"
    )
    server = pool.add_resource_server(
        "ResourceServer",
        identifier=resources.OAUTH_RESOURCE_SERVER,
        user_pool_resource_server_name=names.regional(resources.OAUTH_RESOURCE_SERVER),
        scopes=[mymdc],
    )
    xfel = pool.add_client(
        "XfelClient",
        user_pool_client_name=names.regional(resources.XFEL_CLIENT_NAME),
        generate_secret=True,
        o_auth=cognito.OAuthSettings(
            flows=cognito.OAuthFlows(client_credentials=True),
            scopes=[cognito.OAuthScope.resource_server(server, mymdc)],
        ),
        supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
        access_token_validity=Duration.hours(1),
        prevent_user_existence_errors=True,
    )
    # no user sign-in through this client: without ExplicitAuthFlows Cognito would allow
    # SRP and custom auth (CDK has no way to say "none"; refresh is the required minimum)
    cfn_client = xfel.node.default_child
    assert isinstance(cfn_client, cognito.CfnUserPoolClient)
    cfn_client.explicit_auth_flows = ["ALLOW_REFRESH_TOKEN_AUTH"]
    CfnOutput(stack, "XfelClientId", value=xfel.user_pool_client_id)
    CfnOutput(stack, "XfelTokenUrl", value=f"{domain.base_url()}/oauth2/token")
    return xfel
