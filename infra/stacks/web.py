"""The web page (``web/``) in AWS: a private bucket behind CloudFront (origin access control),
the security headers of :mod:`infra.local.web` added at the edge, the page's own public app
client of the user pool (authorization code with PKCE through the hosted UI), and its
``config.json`` written by the deployment once the API's URL is known.

The page's origin (``https://<distribution>.cloudfront.net``) is what the API answers CORS
for (``CATALOGUE_WEB_ORIGIN``) and what the demo bucket accepts upload POSTs from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from chalicelib import resources
from infra.stacks.naming import Names
from infra.stacks.scanners import Accepted, accept

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
# where the page may connect: the API (execute-api), S3 (presigned upload POSTs) and the
# pool's domain (the token endpoint), each in any region of this partition
CONNECT_SOURCES = ("https://*.amazonaws.com", "https://*.amazoncognito.com")


def content_security_policy() -> str:
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {' '.join(CONNECT_SOURCES)}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


class WebPage(Construct):
    """``url`` is the page (and its sign-in callback), ``origin`` the same without the path."""

    def __init__(
        self, scope: Construct, construct_id: str, *, names: Names, removal: RemovalPolicy, access_logs: s3.IBucket
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=names.bucket(resources.WEB_PAGE_BUCKET),
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal,
            auto_delete_objects=False,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{resources.WEB_PAGE_BUCKET}/",
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(), override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
            ),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="the catalogue's web page",
            default_root_object="index.html",
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=headers,
                # a few small files, changed by each deployment: not cached at the edge, so no
                # invalidation (whose IAM action CDK grants on "*") is needed after one
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            ),
            enable_logging=True,
            log_bucket=access_logs,
            log_file_prefix="cloudfront/",
        )
        accept(
            self.distribution,
            Accepted(
                "The catalogue serves research groups worldwide: no country is excluded.",
                nag=("AwsSolutions-CFR1",),
            ),
        )
        accept(
            self.distribution,
            Accepted(
                "No WAF web ACL: the distribution serves static files only (no cache, no origin but the "
                "private bucket); the API it calls is throttled per stage and per route. A web ACL costs "
                "$5 a month plus $1 per rule and $0.60 per million requests.",
                nag=("AwsSolutions-CFR2",),
                checkov=("CKV_AWS_68",),
            ),
        )
        accept(
            self.distribution,
            Accepted(
                "The page is served under the default *.cloudfront.net certificate, with which CloudFront "
                "cannot refuse TLS 1.0 (the minimum protocol applies to custom certificates only); with a "
                "custom domain the distribution's TLSv1.2_2021 minimum takes effect.",
                nag=("AwsSolutions-CFR4",),
                checkov=("CKV_AWS_174",),
            ),
        )
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        self.url = f"{self.origin}/"
        CfnOutput(scope, "WebPageUrl", value=self.url)

    def sign_in_client(self, pool: cognito.UserPool, names: Names) -> cognito.UserPoolClient:
        """The page's public app client: no secret (Cognito then requires PKCE, which the page
        sends), the authorization-code flow back to the page only."""
        client = pool.add_client(
            "WebPageClient",
            user_pool_client_name=names.regional(resources.WEB_PAGE_CLIENT_NAME),
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=[self.url],
                logout_urls=[self.url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            access_token_validity=Duration.hours(1),
            prevent_user_existence_errors=True,
        )
        return client

    def deploy(self, config: dict[str, Any]) -> s3deploy.BucketDeployment:
        """``web/`` and ``config.json`` (``config``; CDK tokens are resolved at deployment)
        into the bucket (nothing to invalidate: the distribution caches nothing)."""
        return s3deploy.BucketDeployment(
            self,
            "Deployment",
            sources=[s3deploy.Source.asset(str(WEB_DIR)), s3deploy.Source.json_data("config.json", config)],
            destination_bucket=self.bucket,
            prune=True,
        )
