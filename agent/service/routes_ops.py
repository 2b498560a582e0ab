"""Operations: health check and Prometheus metrics (no token: they show no shop's data)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from agent.service import metrics
from agent.service.deps import EngineDep
from agent.service.errors import ApiError, responses
from agent.service.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health, summary="Health check", responses=responses(503))
def health(engine: EngineDep) -> Health:
    """200 when the service can reach its database, 503 when it cannot."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise ApiError(503, f"database unreachable: {type(exc).__name__}", code="database_unavailable") from None
    return Health(status="ok", database="ok")


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "Prometheus text format."}})
def get_metrics(engine: EngineDep, request: Request) -> Response:
    """Runs by status, proposals by kind and state and by the guard's decision, LLM tokens used; with a run queue,
    its jobs by state, its workers and the LLM tokens their runs used."""
    return Response(metrics.render(engine, getattr(request.app.state, "queue", None)), media_type=metrics.CONTENT_TYPE)
