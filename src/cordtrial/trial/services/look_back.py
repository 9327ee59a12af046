"""Product look-back (issue 14): from a lot, an iPSC line or a donor to every recipient, with
dates, for a recall or a finding in the cell line; and from a participant the whole chain back
to the line and its donor.

Site-scoped like every read: a user sees only the recipients at the sites they may see (the
others are not counted either: a count would tell a site about another site's participants).
One query whatever the number of recipients.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.errors import InvalidValueError, NotFoundError
from cordtrial.trial.models import (
    Administration,
    IpscLine,
    Lot,
    Participant,
    Site,
    User,
)
from cordtrial.trial.rules.access import can_see_site
from cordtrial.trial.services.disposition import current_dispositions
from cordtrial.trial.services.reads import visible_participant
from cordtrial.trial.services.users import require_permission

__all__ = ["Exposure", "look_back", "product_chain"]


@dataclass(frozen=True, slots=True)
class Exposure:
    """One administration of cells to a participant, with the chain behind it: lot, line and
    donor; the participant's site and current disposition (in words)."""

    participant_id: int
    study_id: str
    site_code: str
    administered_at: datetime
    dose_cells: int
    transplant_date: date | None
    lot_number: str
    lot_status: str
    manufactured_on: date
    ipsc_line: str
    donor_id: str | None
    disposition: str


def _exposures(session: Session, user: User, *conditions: object) -> list[Exposure]:
    rows = session.execute(
        select(Administration, Participant, Site.code, Lot, IpscLine)
        .join(Participant, Administration.participant_id == Participant.id)
        .join(Site, Participant.site_id == Site.id)
        .join(Lot, Administration.lot_id == Lot.id)
        .join(IpscLine, Lot.ipsc_line_id == IpscLine.id)
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(Administration.administered_at, Participant.study_id)
    ).all()
    rows = [r for r in rows if can_see_site(user.role, user.all_sites, user.site_ids,
                                            r[1].site_id)]  # fmt: skip
    dispositions = current_dispositions(session, {r[1].id for r in rows})
    out = []
    for administration, participant, site_code, lot, line in rows:
        facts = dispositions.get(participant.id)
        out.append(
            Exposure(
                participant.id,
                participant.study_id,
                site_code,
                administration.administered_at,
                administration.dose_cells,
                participant.transplant_date,
                lot.lot_number,
                lot.status,
                lot.manufactured_on,
                line.name,
                line.donor_id,
                facts.label if facts is not None else "active",
            )
        )
    return out


def look_back(
    session: Session,
    user: User,
    *,
    lot_number: str | None = None,
    ipsc_line: str | None = None,
    donor_id: str | None = None,
) -> list[Exposure]:
    """Every recipient of a lot, of an iPSC line's lots, or of the lines of a donor (exactly
    one of the three), at the sites the user may see, in the order they received cells.

    Raises NotFoundError when the lot, line or donor is unknown.
    """
    require_permission(user, "read")
    given = [(n, v) for n, v in (("lot", lot_number), ("ipsc_line", ipsc_line),
                                  ("donor_id", donor_id)) if v]  # fmt: skip
    if len(given) != 1:
        raise InvalidValueError(
            "look_back", ", ".join(n for n, _ in given) or "(nothing)",
            "exactly one of a lot number, an iPSC line or a donor",
        )  # fmt: skip
    name, value = given[0]
    if name == "lot":
        if session.scalars(select(Lot.id).where(Lot.lot_number == value)).first() is None:
            raise NotFoundError("lot", value)
        return _exposures(session, user, Lot.lot_number == value)
    if name == "ipsc_line":
        if session.scalars(select(IpscLine.id).where(IpscLine.name == value)).first() is None:
            raise NotFoundError("ipsc_line", value)
        return _exposures(session, user, IpscLine.name == value)
    if session.scalars(select(IpscLine.id).where(IpscLine.donor_id == value)).first() is None:
        raise NotFoundError("donor", value)
    return _exposures(session, user, IpscLine.donor_id == value)


def product_chain(session: Session, user: User, participant_id: int) -> list[Exposure]:
    """Every administration a participant received, each with its lot, line and donor."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "read", participant.site_id)
    return _exposures(session, user, Administration.participant_id == participant_id)
