"""The audit trail. Admins and users of every site read all of it (and verify the chain);
users with ``read_audit`` scoped to sites read the entries of their sites' records only."""

from typing import Annotated

from fastapi import APIRouter, Query

from cordtrial.trial.audit import check_anchor
from cordtrial.trial.services.reads import audit_scope, audit_verification, list_audit
from cordtrial.web.deps import CurrentUser, SessionDep
from cordtrial.web.schemas import AuditEntryRead, AuditReportRead

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntryRead])
def get_audit(
    user: CurrentUser,
    session: SessionDep,
    entity: str | None = None,
    entity_id: str | None = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryRead]:
    """Audit entries in chain order (page with ``after_seq``); for a user scoped to sites, only
    those of the records of their sites."""
    rows = list_audit(
        session,
        entity=entity,
        entity_id=entity_id,
        after_seq=after_seq,
        limit=limit,
        scope=audit_scope(session, user),
    )
    return [AuditEntryRead.model_validate(r) for r in rows]


@router.get("/verify", response_model=AuditReportRead)
def get_verify(
    user: CurrentUser,
    session: SessionDep,
    anchor: Annotated[
        list[str] | None,
        Query(description="A head hash kept elsewhere; the chain must still hold it (repeatable)"),
    ] = None,
) -> AuditReportRead:
    """Walk the hash chain and reconcile it with the tables (every site: admins and users of
    all sites only). Each ``anchor`` -- a head hash recorded earlier -- must still be in the
    chain: a trail rewritten with recomputed hashes fails (``ok`` false, an ``anchor``
    problem)."""
    anchors = [check_anchor(a) for a in anchor or []]
    report = audit_verification(session, user, anchors)
    return AuditReportRead(
        ok=report.ok,
        entries=report.entries,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        problems=[str(p) for p in report.problems],
    )
