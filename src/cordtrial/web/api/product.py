"""The cell product: iPSC lines, specifications, lots, release tests, custody, administrations."""

from fastapi import APIRouter, status

from cordtrial.trial.services.product import (
    add_ipsc_line,
    add_specification,
    administer_cells,
    record_custody_event,
    record_release_test,
    register_lot,
    release_lot,
)
from cordtrial.trial.services.reads import (
    list_administrations,
    list_custody,
    list_lots,
    visible_lot,
)
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import (
    AdministrationCreate,
    AdministrationRead,
    CustodyEventCreate,
    CustodyEventRead,
    IpscLineCreate,
    IpscLineRead,
    LotCreate,
    LotRead,
    ReleaseDecisionRead,
    ReleaseTestCreate,
    ReleaseTestRead,
    SpecificationCreate,
    SpecificationRead,
)

router = APIRouter(tags=["product"])
_CREATED = status.HTTP_201_CREATED


@router.post("/ipsc-lines", response_model=IpscLineRead, status_code=_CREATED)
def post_ipsc_line(body: IpscLineCreate, user: CurrentUser, session: SessionDep) -> IpscLineRead:
    """Register an iPSC line."""
    line = add_ipsc_line(session, user=user, **body.model_dump())
    return IpscLineRead.model_validate(line)


@router.post("/specifications", response_model=SpecificationRead, status_code=_CREATED)
def post_specification(
    body: SpecificationCreate, user: CurrentUser, session: SessionDep
) -> SpecificationRead:
    """Register a version of the release specification."""
    spec = add_specification(session, user=user, **body.model_dump())
    return SpecificationRead.model_validate(spec)


@router.get("/lots", response_model=list[LotRead])
def get_lots(user: CurrentUser, session: SessionDep) -> list[LotRead]:
    """Every lot with its status and release tests."""
    return [LotRead.model_validate(lot) for lot in list_lots(session, user)]


@router.post("/lots", response_model=LotRead, status_code=_CREATED)
def post_lot(body: LotCreate, user: CurrentUser, session: SessionDep) -> LotRead:
    """Register a lot (in quarantine until released)."""
    return LotRead.model_validate(register_lot(session, user=user, **body.model_dump()))


@router.get("/lots/{lot_number}", response_model=LotRead)
def get_lot(lot_number: str, user: CurrentUser, session: SessionDep) -> LotRead:
    """A lot."""
    return LotRead.model_validate(visible_lot(session, lot_number, user))


@router.post(
    "/lots/{lot_number}/release-tests", response_model=ReleaseTestRead, status_code=_CREATED
)
def post_release_test(
    lot_number: str, body: ReleaseTestCreate, user: CurrentUser, session: SessionDep
) -> ReleaseTestRead:
    """Record a release test result (the latest result of a test counts)."""
    test = record_release_test(session, user=user, lot_number=lot_number, **body.model_dump())
    return ReleaseTestRead.model_validate(test)


@router.post("/lots/{lot_number}/release", response_model=ReleaseDecisionRead)
def post_release(
    lot_number: str, user: CurrentUser, session: SessionDep, now: Clock
) -> ReleaseDecisionRead:
    """Judge the lot against its specification today; release it if every test passes."""
    decision = release_lot(session, user=user, lot_number=lot_number, today=now.date())
    return ReleaseDecisionRead(
        releasable=decision.releasable, outcomes=[o.to_json() for o in decision.outcomes]
    )


@router.get("/lots/{lot_number}/custody", response_model=list[CustodyEventRead])
def get_custody(lot_number: str, user: CurrentUser, session: SessionDep) -> list[CustodyEventRead]:
    """The lot's chain of custody; recipients at sites the user may not see are not named."""
    return [CustodyEventRead.model_validate(e) for e in list_custody(session, lot_number, user)]


@router.post("/lots/{lot_number}/custody", response_model=CustodyEventRead, status_code=_CREATED)
def post_custody(
    lot_number: str, body: CustodyEventCreate, user: CurrentUser, session: SessionDep
) -> CustodyEventRead:
    """Append a custody event (append-only: a mistake is corrected by a further event)."""
    event = record_custody_event(session, user=user, lot_number=lot_number, **body.model_dump())
    return CustodyEventRead.model_validate(event)


@router.get(
    "/participants/{participant_id}/administrations", response_model=list[AdministrationRead]
)
def get_administrations(
    participant_id: PathId, user: CurrentUser, session: SessionDep
) -> list[AdministrationRead]:
    """The cells a participant received."""
    rows = list_administrations(session, user, participant_id)
    return [AdministrationRead.model_validate(a) for a in rows]


@router.post(
    "/participants/{participant_id}/administrations",
    response_model=AdministrationRead,
    status_code=_CREATED,
)
def post_administration(
    participant_id: PathId, body: AdministrationCreate, user: CurrentUser, session: SessionDep
) -> AdministrationRead:
    """Record an administration: refused (422) unless the lot is released and unexpired and a
    second person confirmed both identities."""
    administration = administer_cells(
        session, user=user, participant_id=participant_id, **body.model_dump()
    )
    return AdministrationRead.model_validate(administration)
