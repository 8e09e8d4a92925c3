"""A sample :class:`~chalicelib.exports.view.ExportView` for the export formats' unit tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.exports.view import ExportItem, ExportView

UUID = "1b2e6e16-8a2f-4d5c-9a44-2a1f0c6b7d10"


def sample_view(**changes: Any) -> ExportView:
    """A registered dtool dataset with two files and two replicas (``changes`` replace fields)."""
    view = ExportView(
        uuid=UUID,
        name="soil-moisture-2024",
        description="Soil moisture & temperature <TDR-100>, 2024 season",
        readme="---\nproject: soil\n",
        creator_username="alice",
        created_at=1714500000.0,
        frozen_at=1714550000.0,
        registered_at=1714560000.0,
        updated_at=1714600000.0,
        tags=("soil", "moisture"),
        annotations={"instrument": "TDR-100"},
        base_uri="s3://field-data",
        replicas=("s3://field-data/1b2e6e16-8a2f-4d5c-9a44-2a1f0c6b7d10", "s3://mirror/soil-moisture-2024"),
        project=None,
        kind="dtool",
        number_of_items=2,
        size_in_bytes=2048 + 10,
        items=(
            ExportItem(id="a" * 40, relpath="data/plot 1.csv", size_in_bytes=2048, hash="0" * 32),
            ExportItem(id="b" * 40, relpath="README.txt", size_in_bytes=10, hash="1" * 32),
        ),
        landing_url="https://catalogue.example.org/#/datasets/1b2e6e16-8a2f-4d5c-9a44-2a1f0c6b7d10",
        doi=None,
        publisher="Example Research Data Catalogue",
        version=3,
    )
    return replace(view, **changes)
