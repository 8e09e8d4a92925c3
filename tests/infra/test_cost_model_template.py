"""bench/cost_model.py on the synthesized stacks (dev and prod): every resource type is priced or
listed as free, so a new resource type fails here until it is priced in bench/prices.py."""

from __future__ import annotations

import json

from bench import cost_model
from bench.prices import FREE_TYPES, PRICED_TYPES
from tests.infra.conftest import Synth


def test_every_resource_type_of_the_template_is_priced_or_free(synth: Synth) -> None:
    template = synth.template
    assert cost_model.unpriced_types(template) == set(), "price it in bench/prices.py or list it as free"
    assert not set(PRICED_TYPES) & set(FREE_TYPES)


def test_the_model_sizes_the_stack_from_the_template(synth: Synth) -> None:
    lines = {line.resource: line for line in cost_model.idle_lines(synth.template)}
    [domain] = [line for line in lines.values() if line.kind.startswith("OpenSearch domain")]
    assert domain.usd_month > 0 and ("t3.small.search" in domain.sizing) == (synth.stage == "dev")
    assert "PAY_PER_REQUEST" in lines["DynamoDB"].sizing
    assert "ArchiveBucket" in lines["S3"].sizing  # the bucket with the DEEP_ARCHIVE lifecycle rule
    limits = cost_model.limits(synth.template)
    assert any("throttle" in x["limit"] for x in limits) and json.dumps(limits)
