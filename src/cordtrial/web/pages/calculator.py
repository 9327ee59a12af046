"""The standalone ISNCSCI calculator: the worksheet and its live classification with no login
and nothing stored; the values can be exported (canonical CSV or JSON, with the result record)
or printed as a PDF worksheet."""

from __future__ import annotations

import csv
import io
import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION, RESULT_FIELDS
from cordtrial.isncsci.io.csv_safety import neutralize_csv_row
from cordtrial.web.pages.auth import OptionalPageUser
from cordtrial.web.pages.rendering import render
from cordtrial.web.pages.worksheet import flag_reasons_from, worksheet_context
from cordtrial.web.pages.worksheet_model import ALL_COLUMNS, check_worksheet, read_worksheet
from cordtrial.web.pages.worksheet_pdf import worksheet_pdf

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/calculator", response_class=HTMLResponse)
def calculator_page(request: Request, user: OptionalPageUser) -> Response:
    """An empty worksheet that classifies as values are typed; nothing is stored."""
    return render(request, "calculator.html", user=user, **worksheet_context())


@router.post("/calculator/export.csv")
async def export_csv(request: Request) -> Response:
    """The entered exam as one CSV row: canonical columns, then the result record (empty when
    not classified) -- the format ``cordtrial isncsci classify`` reads and writes."""
    form = await request.form()
    check = check_worksheet(read_worksheet(form))
    record = check.record or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    result_fields = [f for f in RESULT_FIELDS if f != "id"]
    writer.writerow(["id", *ALL_COLUMNS, *result_fields])
    # Values typed by anyone: a cell a spreadsheet would run as a formula is neutralized.
    writer.writerow(neutralize_csv_row(["calculator", *(check.cells[c] for c in ALL_COLUMNS),
                                        *(record.get(f, "") for f in result_fields)]))  # fmt: skip
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="isncsci-exam.csv"'},
    )


@router.post("/calculator/export.json")
async def export_json(request: Request) -> Response:
    """The entered exam as JSON: cells, classification (or null), invalid values, missing
    cells, flagged values' reasons, comments, engine version and ISNCSCI revision."""
    form = await request.form()
    check = check_worksheet(read_worksheet(form))
    comments = form.get("comments")
    body = {
        "cells": check.cells,
        "classification": check.record,
        "errors": check.errors,
        "missing": check.missing,
        "flag_reasons": flag_reasons_from(form),
        "comments": comments.strip() if isinstance(comments, str) else "",
        "engine_version": ENGINE_VERSION,
        "isncsci_revision": ISNCSCI_REVISION,
    }
    return Response(
        json.dumps(body, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="isncsci-exam.json"'},
    )


@router.post("/calculator/worksheet.pdf")
async def calculator_pdf(request: Request) -> Response:
    """The entered exam as a printable worksheet (PDF); nothing is stored."""
    form = await request.form()
    comments = form.get("comments")
    content = worksheet_pdf(
        read_worksheet(form),
        title="ISNCSCI worksheet -- calculator (not stored)",
        comments=comments.strip() if isinstance(comments, str) else "",
        flag_reasons=flag_reasons_from(form),
        footer=["Computed by the cordtrial calculator; not part of any trial record."],
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="isncsci-worksheet.pdf"'},
    )
