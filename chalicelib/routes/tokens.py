"""``POST /token``: dtool's token generator (``{"username", "password"}`` → ``{"token"}``).

Public (it is how a client without a token gets one); the rules live in
:mod:`chalicelib.identity.sign_in`. The source address is the one API Gateway (or
``chalice local``) records in the request context; ``X-Forwarded-For`` and the like are
ignored, since a client can send any value in them.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.routes._http import Ctx, endpoint

bp = Blueprint(__name__)


@bp.route("/token", methods=["POST"])
@endpoint(bp, auth=False)
def token(ctx: Ctx) -> dict[str, str]:
    # imported on first use: the sign-in module pulls in botocore and pynamodb, which every
    # cold start of the API would otherwise pay for
    from chalicelib.identity.sign_in import parse_credentials

    credentials = parse_credentials(ctx.json())
    return {"token": ctx.root.sign_in.access_token(credentials, source_address(ctx))}


def source_address(ctx: Ctx) -> str | None:
    """``requestContext.identity.sourceIp``: the address the front door saw (None if absent)."""
    context: Any = ctx.request.context or {}
    identity = context.get("identity") if isinstance(context, dict) else None
    source = identity.get("sourceIp") if isinstance(identity, dict) else None
    return source if isinstance(source, str) else None
