"""Briefings for leaders: a 1–3 page PDF of an area and period (figures, changes, two maps, lists), offline."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from geo.briefings.content import BriefingContent, gather
from geo.briefings.document import briefing_html, html_to_pdf

__all__ = ["BriefingContent", "briefing_html", "briefing_pdf", "gather", "html_to_pdf"]


def briefing_pdf(
    session: Session, admin_code: str, start: dt.date, end: dt.date, as_of: dt.datetime | None = None
) -> bytes:
    """The briefing of admin_code over [start, end) as PDF bytes."""
    return html_to_pdf(briefing_html(gather(session, admin_code, start, end, as_of)))
