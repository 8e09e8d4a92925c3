"""The CDK stacks of the catalogue (issue 8). Entry point: ``infra/cdk_app.py``."""

from infra.stacks.catalogue import CatalogueStack
from infra.stacks.settings import StageConfig

__all__ = ["CatalogueStack", "StageConfig"]
