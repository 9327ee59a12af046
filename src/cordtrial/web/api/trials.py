"""Trials and their sites."""

from fastapi import APIRouter, status

from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.reads import list_sites, list_trials, visible_trial
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial
from cordtrial.web.deps import CurrentUser, SessionDep
from cordtrial.web.schemas import SiteCreate, SiteRead, TrialCreate, TrialRead

router = APIRouter(prefix="/trials", tags=["trials"])


@router.get("", response_model=list[TrialRead])
def get_trials(user: CurrentUser, session: SessionDep) -> list[TrialRead]:
    """Every trial."""
    return [TrialRead.model_validate(t) for t in list_trials(session, user)]


@router.post("", response_model=TrialRead, status_code=status.HTTP_201_CREATED)
def post_trial(body: TrialCreate, user: CurrentUser, session: SessionDep) -> TrialRead:
    """Create a trial with its arms and visit schedule (default eligibility criteria)."""
    trial = create_trial(
        session,
        user=user,
        protocol_id=body.protocol_id,
        title=body.title,
        phase=body.phase,
        arms=[ArmSpec(a.code, a.name, a.ratio) for a in body.arms],
        visits=[
            VisitSpec(
                v.name,
                v.target_day,
                v.window_minus,
                v.window_plus,
                tuple(v.requires),
                contact_mode=v.contact_mode,
                long_term=v.long_term,
            )
            for v in body.visits
        ],
        strata_factors=body.strata_factors,
    )
    return TrialRead.model_validate(trial)


@router.get("/{protocol_id}", response_model=TrialRead)
def get_trial(protocol_id: str, user: CurrentUser, session: SessionDep) -> TrialRead:
    """A trial by protocol id."""
    return TrialRead.model_validate(visible_trial(session, user, protocol_id))


@router.get("/{protocol_id}/sites", response_model=list[SiteRead])
def get_sites(protocol_id: str, user: CurrentUser, session: SessionDep) -> list[SiteRead]:
    """The trial's sites the user may see."""
    return [SiteRead.model_validate(s) for s in list_sites(session, user, protocol_id)]


@router.post("/{protocol_id}/sites", response_model=SiteRead, status_code=status.HTTP_201_CREATED)
def post_site(
    protocol_id: str, body: SiteCreate, user: CurrentUser, session: SessionDep
) -> SiteRead:
    """Add a site to a trial."""
    site = add_site(session, user=user, protocol_id=protocol_id, code=body.code, name=body.name)
    return SiteRead.model_validate(site)
