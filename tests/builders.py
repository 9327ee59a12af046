"""Builders for tests: exams (a normal exam, then the cells a case changes) and the acting user
the store's use cases take."""

from __future__ import annotations

from collections.abc import Collection

from cordtrial.isncsci import KEY_MUSCLES, SENSORY_LEVELS, Exam, Level
from cordtrial.trial.models import User, UserSite
from cordtrial.trial.rules.access import Role


def acting_as(
    username: str = "admin",
    role: Role = "admin",
    *,
    site_ids: Collection[int] = (),
    all_sites: bool | None = None,
) -> User:
    """A user (not stored) for a use case to act as, named ``username`` in the audit trail: by
    default an administrator of every site, so that a test of something else is not refused;
    ``site_ids`` scopes the user to those sites (``all_sites`` defaults to having none)."""
    user = User(
        username=username,
        full_name=username,
        role=role,
        password_hash="",
        must_change_password=False,
        all_sites=not site_ids if all_sites is None else all_sites,
        active=True,
        failed_logins=0,
        locked_until=None,
    )
    user.site_links = [UserSite(site_id=s) for s in site_ids]
    return user


def normal_flat() -> dict[str, str]:
    """Canonical flat columns of a normal exam (all 5 and 2, VAC and DAP Yes)."""
    flat = {}
    for p in ("r", "l"):
        for lv in KEY_MUSCLES:
            flat[f"{p}_{lv.column}_motor"] = "5"
        for lv in SENSORY_LEVELS:
            flat[f"{p}_{lv.column}_lt"] = "2"
            flat[f"{p}_{lv.column}_pp"] = "2"
        flat[f"{p}_nkm"] = ""
    flat["vac"] = "Yes"
    flat["dap"] = "Yes"
    return flat


def lesion_flat(
    right: Level,
    left: Level | None = None,
    *,
    motor_below: str = "0",
    sensory_below: str = "0",
    sacral: str = "0",
    vac: str = "No",
    dap: str = "No",
) -> dict[str, str]:
    """An exam normal down to (and including) ``right``/``left``, with ``motor_below`` and
    ``sensory_below`` from the next level down, S4-5 light touch and pin prick ``sacral``."""
    flat = normal_flat()
    for p, lesion in (("r", right), ("l", right if left is None else left)):
        for lv in KEY_MUSCLES:
            if lv > lesion:
                flat[f"{p}_{lv.column}_motor"] = motor_below
        for lv in SENSORY_LEVELS:
            if lv > lesion:
                flat[f"{p}_{lv.column}_lt"] = sensory_below
                flat[f"{p}_{lv.column}_pp"] = sensory_below
        flat[f"{p}_s4_5_lt"] = sacral
        flat[f"{p}_s4_5_pp"] = sacral
    flat["vac"] = vac
    flat["dap"] = dap
    return flat


def exam(flat: dict[str, str], **cells: str) -> Exam:
    """An exam from flat columns, with ``cells`` (column=value) changed."""
    return Exam.from_flat({**flat, **cells})
