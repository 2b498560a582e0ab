"""One error shape for every failure: `{"error": {"code", "message", "field"}}`, and the handlers that make it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.jobs import DecisionError
from agent.locks import ShopBusy
from agent.service.platform import PlatformNotConfigured
from agent.storage import ApprovalExpired, InvalidTransition, NotFound, ProposalConflict, RunExists
from marketplace.client import PlatformError
from policies.limits import PolicyError

log = logging.getLogger(__name__)

# The code a bare status gets when the raiser did not name one.
_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 410: "expired", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid", 429: "too_many_requests", 500: "internal", 502: "platform_error", 503: "unavailable",
}
_DECISION_STATUS = {"not_found": 404, "not_pending": 409, "expired": 410, "invalid": 422}
# Where FastAPI says a bad value came from; the field name a person reads leaves it out.
_SOURCES = {"body", "query", "path", "header", "cookie"}


class ErrorDetail(BaseModel):
    """What went wrong, for a person: a stable `code`, a `message` saying what to change, the `field` at fault."""

    code: str = Field(description="Stable machine-readable code, e.g. not_found, invalid, conflict.")
    message: str = Field(description="What went wrong and what to do about it.")
    field: str | None = Field(None, description="Dotted path of the offending input, when one is at fault.")
    details: list[dict[str, str]] | None = Field(None, description="Every problem, when there are several.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(HTTPException):
    """An HTTP error with its code and the field at fault."""

    def __init__(self, status_code: int, message: str, *, code: str | None = None, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code or _CODES.get(status_code, "error")
        self.field = field


def not_found(what: str) -> ApiError:
    """The 404 for anything missing or belonging to another shop (the two are indistinguishable on purpose)."""
    return ApiError(404, f"{what} not found")


def error_response(status: int, code: str, message: str, field: str | None = None, *,
                   details: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    """A JSON response in the one error shape."""
    error: dict[str, Any] = {"code": code, "message": message, "field": field}
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` documenting the error statuses a route may answer, all with `ErrorBody`."""
    return {status: {"model": ErrorBody, "description": _CODES.get(status, "error")} for status in statuses}


def field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as the dotted field a person would name (`body.policy.spend` → `policy.spend`)."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    return ".".join(parts) or "body"


def policy_error_field(exc: PolicyError) -> str | None:
    """The first field a PolicyError's message names (its lines read `  spend.daily_cap: reason`)."""
    for line in str(exc).splitlines():
        head, sep, _ = line.strip().partition(":")
        if sep and " " not in head and head:
            return head
    return None


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the one shape."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DecisionError, _decision_error)
    app.add_exception_handler(PolicyError, _policy_error)
    for kind, status, code in ((NotFound, 404, "not_found"), (RunExists, 409, "run_exists"), (ShopBusy, 409, "busy"),
                               (InvalidTransition, 409, "conflict"), (ProposalConflict, 409, "conflict"),
                               (ApprovalExpired, 410, "expired")):
        app.add_exception_handler(kind, _status_handler(status, code))
    app.add_exception_handler(PlatformError, _platform_error)
    app.add_exception_handler(PlatformNotConfigured, _platform_not_configured)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(RedisConnectionError, _queue_unavailable)
    app.add_exception_handler(Exception, _internal_error)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None) or _CODES.get(exc.status_code, "error")
    message = str(exc.detail)
    if not isinstance(exc, ApiError) and exc.status_code == 404:  # the router's own answers
        message = f"no route {request.method} {request.url.path}; the API is described at /docs"
    elif not isinstance(exc, ApiError) and exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; the API is described at /docs"
    return error_response(exc.status_code, code, message, getattr(exc, "field", None),
                          headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        reason = (bad_json.get("ctx") or {}).get("error", "not valid JSON")
        position = bad_json["loc"][-1] if bad_json.get("loc") else "?"
        return error_response(400, "bad_json", f"the request body is not valid JSON: {reason} (at character "
                              f"{position})", "body")
    details = [{"field": field_of(e["loc"]), "message": _plain(e["msg"])} for e in errors]
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    if len(details) > 5:
        message += f"; and {len(details) - 5} more"
    first = details[0]["field"] if details else None
    return error_response(422, "invalid", message, first, details=details if len(details) > 1 else None)


def _plain(msg: str) -> str:
    return msg.removeprefix("Value error, ")


async def _decision_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DecisionError)
    return error_response(_DECISION_STATUS.get(exc.code, 422), exc.code, str(exc), exc.field)


async def _policy_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PolicyError)
    message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return error_response(422, "invalid_policy", message, policy_error_field(exc))


def _status_handler(status: int, code: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return error_response(status, code, str(exc))

    return handler


async def _platform_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PlatformError)
    log.warning("platform error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(502, "platform_error", f"the marketplace platform failed: {exc}; try again later")


async def _platform_not_configured(request: Request, exc: Exception) -> JSONResponse:
    return error_response(409, "platform_not_configured", str(exc))


async def _queue_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # XIAOER_QUEUE_URL is set and Redis, where the shop locks live, does not answer: nothing was changed.
    log.warning("Redis unreachable on %s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "queue_unavailable", "the run queue (Redis) does not answer, so nothing was changed; "
                          "try again in a minute", headers={"Retry-After": "60"})


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # Two writers raced for one unique row (two policy saves, two shop creations): the loser retries.
    log.info("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(409, "conflict", "someone else changed this at the same moment; reload and try again")


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal", "internal error; the server log has the details")
