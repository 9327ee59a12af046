"""Server-rendered pages (Jinja2 templates, a little JavaScript of our own), beside the JSON API.

``router`` gathers the page routers (no prefix); :func:`install_page_error_handlers` renders the
trial store's errors as HTML pages outside ``/api`` (same status codes as the API: a record at a
site the user may not see is 404, exactly like one that does not exist).
"""

from fastapi import APIRouter

from cordtrial.web.pages import (
    accounts,
    analysis,
    auth,
    calculator,
    design,
    follow_up,
    imaging,
    immunosuppression,
    labs,
    lists,
    medications,
    reporting,
    reports,
    worksheet,
    workspace,
)
from cordtrial.web.pages.errors import install_page_error_handlers
from cordtrial.web.pages.rendering import STATIC_DIR, TEMPLATES_DIR, render, templates

__all__ = [
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "install_page_error_handlers",
    "render",
    "router",
    "templates",
]

router = APIRouter()
router.include_router(auth.router)
# own password change; administrators' password reset and unlock (issue 12)
router.include_router(accounts.router)
router.include_router(workspace.router)
# the regulators' clocks: jurisdictions and periodic safety reports (issue 15)
router.include_router(reporting.router)
# laboratory panels and their CTCAE grades (issue 15)
router.include_router(labs.router)
# concomitant medication and its interaction flags (issue 15)
router.include_router(medications.router)
# immunosuppression: troughs, dose changes, the out-of-range troughs (issue 15)
router.include_router(immunosuppression.router)
# the paged, filtered lists: participants and adverse events (issue 17)
router.include_router(lists.router)
# the ISNCSCI worksheet, its live classification and the calculator (worksheet engineer)
router.include_router(worksheet.router)
router.include_router(calculator.router)
# the analysis page and the DSMB / efficacy report downloads (issue 6)
router.include_router(analysis.router)
# the report archive: reports made in the background, once per data snapshot (issue 17)
router.include_router(reports.router)
router.include_router(design.router)  # the trial-design tools (issue 13)
router.include_router(imaging.router)  # MRI worklist, reads, adjudication (issue 14)
# long-term timeline, disposition, consent, contact attempts, product look-back (issue 14)
router.include_router(follow_up.router)
