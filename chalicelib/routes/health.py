"""Liveness and public configuration."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib import __version__
from chalicelib.routes._http import Ctx, endpoint

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
@endpoint(bp, auth=False)
def health(ctx: Ctx) -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@bp.route("/config", methods=["GET"])
@endpoint(bp)
def config(ctx: Ctx) -> dict[str, Any]:
    return public_config(ctx)


def public_config(ctx: Ctx) -> dict[str, Any]:
    """Non-secret settings and the version (also served by the dtool-compatible ``/config/info``)."""
    return {**ctx.root.settings.public(), "version": __version__}
