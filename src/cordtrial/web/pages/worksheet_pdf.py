"""A printable ISNCSCI worksheet as PDF (fpdf2): both sides' motor, light touch and pin prick
columns beside the levels C2-S4_5, the totals, VAC/DAP, the lowest non-key muscles and the
classification, laid out like the ISNCSCI 2019 worksheet on one A4 landscape page.

Names and free text print in every script as typed (Łukasz, Σοφία, 山田, 김민준): DejaVu Sans with
a CJK fallback font per glyph, see :mod:`cordtrial.pdf_fonts`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION, SENSORY_LEVELS, field_label
from cordtrial.pdf_fonts import FONT_FAMILY as _FONT
from cordtrial.pdf_fonts import add_fonts
from cordtrial.web.pages.worksheet_model import (
    GRID_COLUMNS,
    KEY_MUSCLE_NAMES,
    check_worksheet,
)

__all__ = ["worksheet_pdf"]

_ROW_H = 4.55
_CELL_W = 13.0
_LEVEL_W = 40.0
_TABLE_X = 10.0
_PANEL_X = _TABLE_X + 6 * _CELL_W + _LEVEL_W + 8.0


class _Worksheet(FPDF):
    #: every text passes through this before it is drawn (:func:`cordtrial.pdf_fonts.add_fonts`)
    shown: Callable[[str], str]


def _cell(pdf: _Worksheet, w: float, h: float, text: str, *, border: Any = 1, align: str = "C",
          bold: bool = False, fill: bool = False) -> None:  # fmt: skip
    pdf.set_font(_FONT, "B" if bold else "", pdf.font_size_pt)
    pdf.cell(w, h, pdf.shown(text), border=border, align=align, fill=fill,
             new_x=XPos.RIGHT, new_y=YPos.TOP)  # fmt: skip


def _grid(pdf: _Worksheet, cells: Mapping[str, str], record: Mapping[str, str] | None) -> None:
    pdf.set_font(_FONT, "", 7)
    top = pdf.get_y()
    pdf.set_fill_color(230, 230, 230)
    pdf.set_xy(_TABLE_X, top)
    _cell(pdf, 3 * _CELL_W, 5, "RIGHT", bold=True, fill=True)
    _cell(pdf, _LEVEL_W, 5, "", fill=True)
    _cell(pdf, 3 * _CELL_W, 5, "LEFT", bold=True, fill=True)
    pdf.set_xy(_TABLE_X, top + 5)
    for column in GRID_COLUMNS[:3]:
        _cell(pdf, _CELL_W, 5, column.short, bold=True, fill=True)
    _cell(pdf, _LEVEL_W, 5, "Level / key muscle", bold=True, fill=True)
    for column in GRID_COLUMNS[3:]:
        _cell(pdf, _CELL_W, 5, column.short, bold=True, fill=True)
    y = top + 10
    for level in SENSORY_LEVELS:
        pdf.set_xy(_TABLE_X, y)
        values = {
            column.key: (
                cells.get(f"{column.side}_{level.column}_{column.kind}", "")
                if level in column.levels
                else None
            )
            for column in GRID_COLUMNS
        }
        for column in GRID_COLUMNS[:3]:
            value = values[column.key]
            _cell(pdf, _CELL_W, _ROW_H, value or "", fill=value is None)
        muscle = KEY_MUSCLE_NAMES.get(level)
        name = level.name.replace("_", "-")
        _cell(pdf, _LEVEL_W, _ROW_H, f"{name}  {muscle}" if muscle else name, align="L")
        for column in GRID_COLUMNS[3:]:
            value = values[column.key]
            _cell(pdf, _CELL_W, _ROW_H, value or "", fill=value is None)
        y += _ROW_H
    pdf.set_xy(_TABLE_X, y)
    totals = record or {}
    for key in ("motor_right_total", "lt_right", "pp_right"):
        _cell(pdf, _CELL_W, 5, totals.get(key, ""), bold=True)
    _cell(pdf, _LEVEL_W, 5, "TOTALS", bold=True)
    for key in ("lt_left", "pp_left", "motor_left_total"):
        _cell(pdf, _CELL_W, 5, totals.get(key, ""), bold=True)
    y += 7
    pdf.set_xy(_TABLE_X, y)
    pdf.set_font(_FONT, "", 8)
    for label, value in (
        ("VAC", cells.get("vac", "")),
        ("DAP", cells.get("dap", "")),
        ("Lowest non-key muscle R", cells.get("r_nkm", "") or "-"),
        ("L", cells.get("l_nkm", "") or "-"),
    ):
        pdf.set_font(_FONT, "B", 8)
        _cell(pdf, pdf.get_string_width(label) + 2, 5, label, border=0, align="L", bold=True)
        _cell(pdf, 12, 5, value, align="C")
        _cell(pdf, 3, 5, "", border=0)


def _panel_line(pdf: _Worksheet, label: str, value: str) -> None:
    pdf.set_x(_PANEL_X)
    pdf.set_font(_FONT, "", 8)
    pdf.cell(62, 4.6, pdf.shown(label), border="B", new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.set_font(_FONT, "B", 8)
    pdf.cell(70, 4.6, pdf.shown(value), border="B", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _panel(pdf: _Worksheet, check_record: Mapping[str, str] | None, missing: Sequence[str],
           errors: Mapping[str, str], explanation: Sequence[str]) -> None:  # fmt: skip
    width = 287 - _PANEL_X
    pdf.set_x(_PANEL_X)
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(width, 6, "Classification", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if check_record is None:
        pdf.set_font(_FONT, "", 8)
        lines = [f"Invalid: {field_label(name)}: {message}" for name, message in errors.items()]
        if missing:
            lines.append("Not classified: not recorded -- " + "; ".join(missing))
        for line in lines[:12]:
            pdf.set_x(_PANEL_X)
            pdf.multi_cell(width, 4, pdf.shown(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    r = check_record
    rows = [
        ("Sensory level R / L", f"{r['sensory_right']} / {r['sensory_left']}"),
        ("Motor level R / L", f"{r['motor_right']} / {r['motor_left']}"),
        ("Neurological level of injury (NLI)", r["nli"]),
        ("Complete or incomplete", r["complete"]),
        ("ASIA Impairment Scale (AIS)", r["ais"]),
        ("ZPP sensory R / L", f"{r['zpp_sensory_right']} / {r['zpp_sensory_left']}"),
        ("ZPP motor R / L", f"{r['zpp_motor_right']} / {r['zpp_motor_left']}"),
        ("UEMS (R + L = total)", f"{r['uems_right']} + {r['uems_left']} = {r['uems']}"),
        ("LEMS (R + L = total)", f"{r['lems_right']} + {r['lems_left']} = {r['lems']}"),
        ("Light touch (R + L = total)", f"{r['lt_right']} + {r['lt_left']} = {r['lt']}"),
        ("Pin prick (R + L = total)", f"{r['pp_right']} + {r['pp_left']} = {r['pp']}"),
    ]
    for label, value in rows:
        _panel_line(pdf, label, value)
    pdf.ln(2)
    pdf.set_font(_FONT, "", 6.5)
    for line in explanation:
        pdf.set_x(_PANEL_X)
        pdf.multi_cell(width, 2.9, pdf.shown(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def worksheet_pdf(
    cells: Mapping[str, str],
    *,
    title: str,
    details: Sequence[tuple[str, str]] = (),
    comments: str = "",
    flag_reasons: Mapping[str, str] | None = None,
    footer: Sequence[str] = (),
) -> bytes:
    """One A4 landscape page: the worksheet grid, totals, VAC/DAP, non-key muscles and the
    classification by :func:`cordtrial.isncsci.classify` (or what is missing or invalid).

    Parameters
    ----------
    cells : mapping
        Canonical columns to the values as entered (``""`` or absent: not recorded).
    title : str
        The heading (participant and exam, or "calculator").
    details : sequence of (label, value)
        Printed under the heading (visit, date, examiner ...).
    comments, flag_reasons
        The examiner's comments and the reason for each ``*``/``**`` value, by column.
    footer : sequence of str
        Lines printed at the bottom (signatures, "not stored").
    """
    check = check_worksheet({k: v or "" for k, v in cells.items()})
    pdf = _Worksheet(orientation="L", unit="mm", format="A4")
    pdf.shown = add_fonts(pdf, ("", "B"))
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(_TABLE_X, 8, 10)
    pdf.add_page()
    pdf.set_title(title)
    pdf.set_creator("cordtrial")
    pdf.set_font(_FONT, "B", 12)
    pdf.cell(0, 6, pdf.shown(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, "", 8)
    line = "   ".join(f"{label}: {value}" for label, value in details)
    standard = (
        f"ISNCSCI {ISNCSCI_REVISION} worksheet layout; classified by cordtrial engine "
        f"{ENGINE_VERSION}"
    )
    pdf.cell(0, 4.5, pdf.shown(line or standard), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if line:
        pdf.cell(0, 4.5, pdf.shown(standard), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)
    top = pdf.get_y()
    _grid(pdf, check.cells, check.record)
    pdf.set_xy(_PANEL_X, top)
    explanation = [str(r) for r in check.explanation.reasons] if check.explanation else []
    _panel(pdf, check.record, check.missing_summary(), check.errors, explanation)
    y = max(pdf.get_y() + 2, top + 10 + 28 * _ROW_H + 15)
    pdf.set_xy(_TABLE_X, y)
    notes = []
    for name, reason in (flag_reasons or {}).items():
        if reason:
            notes.append(f"{field_label(name)} = {check.cells.get(name, '')}: {reason}")
    width = 277.0
    pdf.set_font(_FONT, "", 7.5)
    if notes:
        pdf.multi_cell(width, 3.6, pdf.shown("Flagged values (* / **): " + "; ".join(notes)),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    if comments:
        pdf.multi_cell(width, 3.6, pdf.shown(f"Comments: {comments}"),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    for text in footer:
        pdf.multi_cell(width, 3.6, pdf.shown(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
