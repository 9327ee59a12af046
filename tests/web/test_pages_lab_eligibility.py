"""The participant page's eligibility section (issue 15): the latest assessment with a reason
per criterion, and the laboratory limits checked from the results entered, the failing value
named and a missing one said to be not yet assessable."""

from __future__ import annotations

import html
import re
from datetime import date

from builders import acting_as
from cordtrial.trial.rules.eligibility import EligibilityCriteria
from cordtrial.trial.rules.lab_limits import LabLimit
from cordtrial.trial.services.labs import LabEntry, record_lab_panel
from cordtrial.trial.services.participants import assess_eligibility
from cordtrial.trial.services.trials import amend_eligibility
from cordtrial.web.pages.security import SESSION_COOKIE
from web.conftest import PROTOCOL, World


def _text(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_participant_page_names_the_failing_lab_value_and_the_missing_one(
    world: World,
) -> None:
    limits = (LabLimit("platelets", ">=", 100), LabLimit("inr", "<=", 1.5))
    setup = acting_as("setup", role="admin")
    amend_eligibility(
        world.session, user=setup, protocol_id=PROTOCOL,
        criteria=EligibilityCriteria(lab_limits=limits), reason="amendment: laboratory limits",
    )  # fmt: skip
    record_lab_panel(
        world.session, setup, participant_id=world.participant_id,
        collected_on=date(2026, 1, 22), entries=[LabEntry("platelets", 82, "10*9/L")],
    )  # fmt: skip
    assess_eligibility(
        world.session, user=setup, participant_id=world.participant_id,
        assessed_on=date(2026, 1, 24),
    )  # fmt: skip
    world.client.cookies.set(SESSION_COOKIE, world.tokens["monitor"])
    text = _text(world.client.get(f"/participants/{world.participant_id}").text)
    section = text[text.index("Eligibility Assessed") :]
    assert "Assessed 2026-01-24 by setup: not eligible" in section
    assert (
        "not met Platelet count 82 x10^9/L is below the limit 100 x10^9/L (sample 2026-01-22)"
        in section
    )
    assert "not yet assessable no INR result in the screening window" in section
    assert "Laboratory limits, from the results entered" in section
