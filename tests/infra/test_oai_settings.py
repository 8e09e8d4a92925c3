"""The stage's OAI-PMH settings (infra/stacks/settings.py): checked at synth as the app checks them."""

from __future__ import annotations

import pytest

from infra.stacks.settings import StageConfig, StageConfigError


def test_a_stage_names_its_oai_identifier_and_contact_or_takes_the_defaults() -> None:
    assert StageConfig.from_mapping("dev", {}).oai_repository_identifier == ""
    c = StageConfig.from_mapping(
        "prod", {"oai_repository_identifier": "data.example.org", "oai_admin_email": "a@b.org"}
    )
    assert (c.oai_repository_identifier, c.oai_admin_email) == ("data.example.org", "a@b.org")


@pytest.mark.parametrize(
    "raw",
    [{"oai_repository_identifier": "localhost"}, {"oai_admin_email": "nobody"}, {"oai_repository_identifier": "1.x"}],
)
def test_a_value_the_protocol_cannot_carry_fails_the_synth(raw: dict[str, str]) -> None:
    with pytest.raises(StageConfigError):
        StageConfig.from_mapping("dev", raw)
