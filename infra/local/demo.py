"""Deterministic, realistic dtool registrations for the demo stack and the e2e tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import sys
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
import yaml


@dataclass(frozen=True)
class _Person:
    username: str
    name: str
    email: str
    orcid: str


CREATORS = (
    _Person("hmartin", "Hannah Martin", "hannah.martin@example.ac.uk", "0000-0002-1825-0097"),
    _Person("okafor", "Chidi Okafor", "c.okafor@example.ac.uk", "0000-0001-5109-3700"),
    _Person("priya.n", "Priya Natarajan", "priya.natarajan@example.org", "0000-0003-1419-2405"),
    _Person("tkowalski", "Tomasz Kowalski", "t.kowalski@example.eu", "0000-0002-9079-593X"),
    _Person("mgarcia", "Marta Garcia", "marta.garcia@example.es", "0000-0001-7243-6207"),
)

FUNDERS = (
    ("NERC", "NE/X00{:04d}/1"),
    ("BBSRC", "BB/W0{:05d}/1"),
    ("Wellcome Trust", "2{:05d}/Z/23/Z"),
    ("ERC", "1010{:05d}"),
    ("EPSRC", "EP/V0{:05d}/1"),
)


@dataclass(frozen=True)
class _Kind:
    project: str
    instrument: str
    tags: tuple[str, ...]
    files: tuple[tuple[str, int, int], ...]  # (relpath pattern with {i}, min size, max size)


KINDS: dict[str, _Kind] = {
    "soil": _Kind(
        "Upland soil moisture network",
        "Campbell CS655 TDR probes",
        ("field-campaign", "time-series", "raw", "qc-passed"),
        (
            ("raw/logger_{i:02d}.csv", 200_000, 4_000_000),
            ("calibration/cs655_coefficients.json", 800, 4_000),
            ("metadata/site_plan.pdf", 300_000, 2_500_000),
        ),
    ),
    "lidar": _Kind(
        "Woodland canopy structure",
        "Riegl VUX-240 airborne lidar",
        ("lidar", "remote-sensing", "raw", "georeferenced"),
        (
            ("raw/scan_{i:03d}.laz", 150_000_000, 900_000_000),
            ("trajectory/sbet_{i:02d}.out", 20_000_000, 80_000_000),
            ("processed/dtm_1m.tif", 40_000_000, 200_000_000),
        ),
    ),
    "cryo": _Kind(
        "Apoferritin benchmark for the Krios G4",
        "Thermo Fisher Titan Krios G4 with Falcon 4i",
        ("cryo-em", "raw", "benchmark", "single-particle"),
        (
            ("raw/movie_{i:04d}.tif", 300_000_000, 700_000_000),
            ("raw/gain_reference.mrc", 60_000_000, 70_000_000),
            ("processing/motioncorr_{i:04d}.mrc", 30_000_000, 60_000_000),
        ),
    ),
    "xfel": _Kind(
        "Time-resolved serial crystallography of photoactive yellow protein",
        "European XFEL SPB/SFX, AGIPD detector",
        ("xfel", "serial-crystallography", "raw", "beamtime-2024"),
        (
            ("raw/run{run:04d}_{i:05d}.h5", 1_000_000_000, 4_000_000_000),
            ("geometry/agipd_{run:04d}.geom", 20_000, 60_000),
            ("logs/run{run:04d}_shift_notes.txt", 2_000, 30_000),
        ),
    ),
}

_DAY = 86_400.0


def _name(kind: str, rng: random.Random, when: dt.datetime, run: int) -> str:
    if kind == "soil":
        return f"soil-moisture-{when.year}-plot-{rng.randint(1, 24):02d}"
    if kind == "lidar":
        site = rng.choice(["wytham-woods", "abernethy", "alice-holt", "glen-affric"])
        return f"lidar-survey-{site}-{when:%Y-%m}"
    if kind == "cryo":
        return f"cryo-em-apoferritin-{when:%Y%m%d}-grid-{rng.randint(1, 16):02d}"
    return f"xfel-run-{run:04d}-pyp-{rng.choice(['dark', '1ps', '10ps', '100ps'])}"


def _readme(kind: _Kind, person: _Person, description: str, funder: tuple[str, str], created: dt.date) -> str:
    doc: dict[str, Any] = {
        "project": kind.project,
        "description": description,
        "owners": [{"name": person.name, "email": person.email, "username": person.username, "orcid": person.orcid}],
        "funders": [{"organisation": funder[0], "grant_number": funder[1]}],
        "creation_date": created,
        "instrument": kind.instrument,
        "license": "CC-BY-4.0",
    }
    # dtool's README template: a YAML document, block style, keys in the order written.
    return "---\n" + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _measurements(kind: str, rng: random.Random) -> dict[str, float]:
    """Numeric annotations, the unit in the name (``annotations.temperature_K>=300`` finds the
    XFEL runs at room temperature, ``annotations.temperature_K<100`` the cryo-EM sessions).
    Drawn from their own generator, so that the rest of each dataset is as before."""
    if kind == "soil":
        return {"temperature_K": round(rng.uniform(276, 292), 1), "depth_cm": rng.choice([10, 30, 60])}
    if kind == "lidar":
        return {"altitude_m": rng.randint(300, 900), "point_density_per_m2": rng.randint(20, 120)}
    if kind == "cryo":
        return {"temperature_K": round(rng.uniform(77, 95), 1), "pixel_size_A": round(rng.uniform(0.7, 1.2), 3)}
    return {"temperature_K": round(rng.uniform(294, 310), 1), "photon_energy_keV": round(rng.uniform(9, 12.4), 2)}


def demo_datasets(base_uri: str, n: int = 20, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` dtool registration bodies under ``base_uri``; the same for the same arguments.

    Each has a seeded uuid4, ``uri = f"{base_uri}/{uuid}"``, a YAML README, a 3-8 item
    md5 manifest keyed by dtool item ids (sha1 of the relpath), annotations and 1-3 tags.
    """
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 8, 9, 0, tzinfo=dt.UTC).timestamp()
    kinds = list(KINDS)
    out: list[dict[str, Any]] = []
    for index in range(n):
        kind_key = kinds[index % len(kinds)]
        kind = KINDS[kind_key]
        person = CREATORS[rng.randrange(len(CREATORS))]
        uuid = str(uuidlib.UUID(int=rng.getrandbits(128), version=4))
        created_at = round(start + index * 9 * _DAY + rng.uniform(0, 8 * _DAY), 6)
        frozen_at = round(created_at + rng.uniform(600, 3 * _DAY), 6)
        when = dt.datetime.fromtimestamp(created_at, tz=dt.UTC)
        run = rng.randint(100, 999)
        name = _name(kind_key, rng, when, run)

        items: dict[str, dict[str, Any]] = {}
        n_items = rng.randint(3, 8)
        patterns = [kind.files[0]] * (n_items - 2) + list(kind.files[1:])
        for i, (pattern, low, high) in enumerate(patterns, start=1):
            relpath = pattern.format(i=i, run=run)
            if relpath in {v["relpath"] for v in items.values()}:
                continue
            item_id = hashlib.sha1(relpath.encode()).hexdigest()  # dtool's item identifier
            items[item_id] = {
                "relpath": relpath,
                "size_in_bytes": rng.randint(low, high),
                "hash": hashlib.md5(f"{uuid}/{relpath}".encode()).hexdigest(),
                "utc_timestamp": round(created_at + rng.uniform(0, 3_600), 6),
            }

        funder_name, grant = FUNDERS[rng.randrange(len(FUNDERS))]
        funder = (funder_name, grant.format(rng.randint(0, 99_999)))
        description = {
            "soil": f"Hourly volumetric water content at 10, 30 and 60 cm, {when:%B %Y}.",
            "lidar": f"Leaf-on airborne lidar survey, {len(items)} files, flown {when:%d %B %Y}.",
            "cryo": f"Apoferritin movies for resolution benchmarking, session of {when:%d %B %Y}.",
            "xfel": f"Pump-probe diffraction images of PYP crystals, run {run}.",
        }[kind_key]
        tags = sorted(rng.sample(kind.tags, rng.randint(1, 3)))
        out.append(
            {
                "uuid": uuid,
                "base_uri": base_uri,
                "uri": f"{base_uri}/{uuid}",
                "name": name,
                "type": "dataset",
                "creator_username": person.username,
                "created_at": created_at,
                "frozen_at": frozen_at,
                "readme": _readme(kind, person, description, funder, when.date()),
                "manifest": {"hash_function": "md5sum_hexdigest", "dtoolcore_version": "3.18.2", "items": items},
                "annotations": {
                    "instrument": kind.instrument,
                    "project": kind.project,
                    "funder": funder[0],
                    "quality": rng.choice(["raw", "checked", "curated"]),
                    **_measurements(kind_key, random.Random(f"{seed}:{uuid}")),
                },
                "tags": tags,
                "description": description,
            }
        )
    return out


class DemoLoadError(RuntimeError):
    """A registration was refused; the message carries the status and response body."""


def load_demo(api_url: str, token: str, datasets: Sequence[dict[str, Any]], *, timeout: float = 30.0) -> int:
    """POST each dataset to ``{api_url}/datasets``; return how many were accepted (201 or 200).

    Shows a rich progress bar when stdout is a terminal. Raises :class:`DemoLoadError`
    on the first non-2xx answer.
    """
    session = requests.Session()
    session.trust_env = False  # a loopback API must never go through an HTTP(S)_PROXY
    session.headers["Authorization"] = f"Bearer {token}"
    url = f"{api_url.rstrip('/')}/datasets"

    def post(body: dict[str, Any]) -> None:
        resp = session.post(url, json=body, timeout=timeout)
        if not 200 <= resp.status_code < 300:
            what = f"{body.get('name')} ({body.get('uuid')})"
            raise DemoLoadError(f"POST {url} for {what} answered {resp.status_code}: {resp.text[:2000]}")

    try:
        if sys.stdout.isatty():
            from rich.progress import Progress

            with Progress(transient=False) as progress:
                task = progress.add_task("Registering demo datasets", total=len(datasets))
                for body in datasets:
                    post(body)
                    progress.advance(task)
        else:
            for body in datasets:
                post(body)
    finally:
        session.close()
    return len(datasets)


# Datasets uploaded as objects (not just registered): they register themselves through the
# S3 → SQS → ingest path, and they can be archived (their files exist).
DEMO_FOLDERS = 3


def demo_folders(n: int = DEMO_FOLDERS, seed: int = 11) -> list[tuple[str, bytes]]:
    """``(key, bytes)`` of ``n`` sidecar-described folders under ``uploads/``: a ``dataset.json``
    and a few small CSV files each."""
    rng = random.Random(seed)
    objects: list[tuple[str, bytes]] = []
    for i in range(n):
        folder = f"uploads/soil-moisture-plot-{i + 1:02d}"
        for probe in range(3):
            rows = "\n".join(f"{d},{rng.uniform(0.1, 0.4):.3f}" for d in (10, 20, 30, 40))
            objects.append((f"{folder}/probe-{probe + 1}.csv", f"depth_cm,moisture\n{rows}\n".encode()))
        sidecar = {
            "name": f"soil-moisture-plot-{i + 1:02d}",
            "description": f"TDR soil moisture probes in plot {i + 1}, uploaded to S3",
            "creator": "demo",
            "tags": ["soil", "uploaded"],
        }
        objects.append((f"{folder}/dataset.json", json.dumps(sidecar).encode()))
    return objects
