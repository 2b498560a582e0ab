"""Daily reports: the list, and one report as Markdown, HTML (with charts) or JSON figures."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse

from agent.i18n import Locale
from agent.service.deps import CurrentOwner, SessionDep
from agent.service.errors import not_found, responses
from agent.service.schemas import ReportPublic, ReportSummary
from agent.storage import get_report, get_shop, list_reports

router = APIRouter(prefix="/shops/{shop_id}/reports", tags=["reports"], responses=responses(401, 404))

ReportDate = Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$", description="The report's date, YYYY-MM-DD.")]


@router.get("", response_model=list[ReportSummary], summary="List reports")
def get_reports(owner: CurrentOwner, session: SessionDep,
                limit: Annotated[int, Query(ge=1, le=1000)] = 60) -> list[ReportSummary]:
    """The shop's daily reports (one per date and language), newest date first."""
    return [ReportSummary.of(r) for r in list_reports(session, owner.shop_id, limit=limit)]


@router.get(
    "/{date}", response_model=ReportPublic, summary="Show a report",
    responses={200: {"content": {"text/markdown": {}, "text/html": {}},
                     "description": "JSON (format=json), Markdown (format=md) or HTML with charts (format=html)."}},
)
def get_one_report(
    date: ReportDate, owner: CurrentOwner, session: SessionDep,
    format: Annotated[Literal["md", "html", "json"], Query(description="md, html or json.")] = "md",
    locale: Annotated[Locale | None, Query(description="en or zh-CN; default the shop's language.")] = None,
) -> Response | ReportPublic:
    """The report of one date in one language."""
    shop = get_shop(session, owner.shop_id)
    chosen = locale or (shop.locale if shop is not None and shop.locale in ("en", "zh-CN") else "zh-CN")
    report = get_report(session, owner.shop_id, date, chosen)
    if report is None:
        raise not_found(f"{locale} report of {date}")
    if format == "md":
        return Response(report.markdown, media_type="text/markdown; charset=utf-8")
    if format == "html":
        return HTMLResponse(report.html)
    return ReportPublic(**ReportSummary.of(report).model_dump(), markdown=report.markdown, data=report.data)
