"""The Data Tracker's services, built together by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.tracker.api_keys import ApiKeyService
from chalicelib.tracker.collections import Collections
from chalicelib.tracker.datasets import TrackerDatasets
from chalicelib.tracker.orders import Orders
from chalicelib.tracker.people import People
from chalicelib.tracker.projects import Projects
from chalicelib.tracker.records import TrackerRecords


@dataclass(frozen=True)
class Tracker:
    records: TrackerRecords
    people: People
    orders: Orders
    datasets: TrackerDatasets
    collections: Collections
    keys: ApiKeyService
    projects: Projects
