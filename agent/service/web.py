"""The owner's web page: sign in with the owner token, read the report, answer approvals, read and change the
main limits, pause and resume Xiaoer, run now, ask the agent in the chat box.

Server-rendered (Jinja2, autoescaped), one page at `/`. The owner token lives in an httponly,
SameSite=Strict cookie; every form also carries a token derived from it (HMAC), and a POST
from another origin is refused, so no other site can make the owner's browser act (`web_auth`).
Approvals go through `Jobs.decide`, policy changes through `routes_policy.change_policy` and the chat box
through the chat API's code (`web_chat`), the same paths as the API.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from starlette.concurrency import run_in_threadpool

from agent.i18n import LOCALES, Locale
from agent.jobs import DecisionError, OwnerDecision
from agent.locks import ShopBusy
from agent.service import web_chat, web_policy, web_views
from agent.service.routes_policy import change_policy
from agent.service.routes_proposals import apply_decisions
from agent.service.schedule import push_later
from agent.service.web_auth import COOKIE, COOKIE_DAYS, Owner, from_our_page, same_origin, signed_in
from agent.service.web_text import text
from agent.storage import RunExists, Shop, current_policy, get_report, session_scope, shop_for_token
from marketplace.client import PlatformError
from policies.limits import PolicyError

router = APIRouter(include_in_schema=False)
router.include_router(web_chat.router)  # the chat box's POST /chat

FormHandler = Callable[[Request, dict[str, str]], Response]
OwnerFormHandler = Callable[[Request, dict[str, str], Owner], Response]
_DONE = {"approve": "approved", "reject": "rejected", "edit": "edited"}  # decision → notice shown after it
MAX_FORM_BYTES = 16_384
KILL_NOTE, LIMITS_NOTE = "kill switch from the owner page", "limits from the owner page"


def _form_post(path: str) -> Callable[[FormHandler], FormHandler]:
    """Route POST `path` to `handler(request, form)`: the small form is read on the event loop, the handler
    (database, a whole run) works in a worker thread."""

    def register(handler: FormHandler) -> FormHandler:
        async def endpoint(request: Request) -> Response:
            return await run_in_threadpool(handler, request, await _form(request))

        endpoint.__name__, endpoint.__doc__ = handler.__name__, handler.__doc__
        router.add_api_route(path, endpoint, methods=["POST"])
        return handler

    return register


def _owner_post(path: str) -> Callable[[OwnerFormHandler], OwnerFormHandler]:
    """Route POST `path` like `_form_post`, to `handler(request, form, owner)` only when the signed-in owner sent
    it from our own page; without the cookie the answer is the sign-in page, without the form token (or from
    another site) a refusal."""

    def register(handler: OwnerFormHandler) -> OwnerFormHandler:
        def verified(request: Request, form: dict[str, str]) -> Response:
            owner = signed_in(request)
            if owner is None:
                return RedirectResponse(_home(form.get("lang")), status_code=303)
            if not from_our_page(request, owner, form.get("csrf", "")):
                return _refusal(_locale(form.get("lang"), owner.shop), "error.csrf")
            return handler(request, form, owner)

        verified.__name__, verified.__doc__ = handler.__name__, handler.__doc__
        _form_post(path)(verified)
        return handler

    return register


# --- sign in and out --------------------------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def page(request: Request, lang: str | None = None, notice: str | None = None) -> Response:
    """The owner page, or the sign-in form."""
    owner = signed_in(request)
    if owner is None:
        return _render("login.html", _locale(lang, None), status=200)
    return _dashboard(request, owner, _locale(lang, owner.shop), notice=notice)


@_form_post("/login")
def login(request: Request, form: dict[str, str]) -> Response:
    """Check the owner token and keep it in the cookie."""
    if not same_origin(request):
        return _refusal(_locale(form.get("lang"), None), "error.csrf")
    token = form.get("token", "").strip()
    with session_scope(request.app.state.engine) as session:
        shop_id = shop_for_token(session, token)
    locale = _locale(form.get("lang"), None)
    if shop_id is None:
        return _render("login.html", locale, status=401, error=text("login.bad", locale))
    response = RedirectResponse(_home(form.get("lang")), status_code=303)
    response.set_cookie(COOKIE, token, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@_owner_post("/logout")
def logout(request: Request, form: dict[str, str], owner: Owner) -> Response:
    """Forget the token in this browser."""
    response = RedirectResponse(_home(form.get("lang")), status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- acting ---------------------------------------------------------------------------------------------------------

@_owner_post("/decide")
def decide(request: Request, form: dict[str, str], owner: Owner) -> Response:
    """Approve, reject or edit one pending proposal; the run resumes before the page comes back."""
    locale = _locale(form.get("lang"), owner.shop)
    choice, pid = form.get("decision", ""), form.get("proposal_id", "")
    try:
        if choice not in ("approve", "reject", "edit"):
            raise DecisionError(f"unknown decision {choice!r}", field="decision", code="invalid")
        decision = OwnerDecision(choice, _edit_fields(form) if choice == "edit" else None)  # type: ignore[arg-type]
        apply_decisions(request.app.state, owner.shop.id, owner.actor, {pid: decision})
    except DecisionError as exc:
        error = text(f"error.{exc.code}", locale, detail=str(exc))
        return _dashboard(request, owner, locale, error=error, status=409 if exc.code != "invalid" else 400)
    except (ShopBusy, RedisConnectionError) as exc:
        return _shop_held(request, owner, locale, exc)
    return RedirectResponse(_home(form.get("lang"), notice=_DONE[choice]), status_code=303)


@_owner_post("/decide-all")
def decide_all(request: Request, form: dict[str, str], owner: Owner) -> Response:
    """Approve or reject, at once, every proposal the page showed: their ids come with the form, so one that arrived
    since waits for the owner to see it. All or nothing: one that was answered or expired meanwhile refuses the lot."""
    locale = _locale(form.get("lang"), owner.shop)
    choice = form.get("decision", "")
    ids = list(dict.fromkeys(pid for pid in form.get("proposal_ids", "").split(",") if pid.strip()))
    try:
        if choice not in ("approve", "reject"):
            raise DecisionError(f"unknown decision {choice!r}", field="decision", code="invalid")
        if not ids:
            raise DecisionError("no proposals named", field="proposal_ids", code="invalid")
        answers = {pid: OwnerDecision(choice) for pid in ids}  # type: ignore[arg-type]
        apply_decisions(request.app.state, owner.shop.id, owner.actor, answers)
    except DecisionError as exc:
        key = f"error.all_{exc.code}" if exc.code in ("not_found", "not_pending", "expired") else f"error.{exc.code}"
        error = text(key, locale, detail=str(exc))
        return _dashboard(request, owner, locale, error=error, status=409 if exc.code != "invalid" else 400)
    except (ShopBusy, RedisConnectionError) as exc:
        return _shop_held(request, owner, locale, exc)
    return RedirectResponse(_home(form.get("lang"), notice=f"{_DONE[choice]}_all"), status_code=303)


@_owner_post("/run")
def run_now(request: Request, form: dict[str, str], owner: Owner) -> Response:
    """Start today's run now (once a day, like the scheduler)."""
    locale = _locale(form.get("lang"), owner.shop)
    with session_scope(request.app.state.engine) as session:
        has_policy = current_policy(session, owner.shop.id) is not None
    if not has_policy:
        return _dashboard(request, owner, locale, error=text("error.no_policy", locale), status=409)
    try:
        view = request.app.state.jobs.run_daily(owner.shop.id, actor=owner.actor)
    except RunExists:
        return _dashboard(request, owner, locale, error=text("error.run_exists", locale), status=409)
    except (ShopBusy, RedisConnectionError) as exc:
        return _shop_held(request, owner, locale, exc)
    except (LookupError, PlatformError) as exc:  # platform not set up, or it kept failing
        return _dashboard(request, owner, locale, error=text("error.run_failed", locale, detail=str(exc)), status=502)
    push_later(request.app.state, owner.shop.id, view.run_id)
    return RedirectResponse(_home(form.get("lang"), notice=f"run_{view.status}"), status_code=303)


def _shop_held(request: Request, owner: Owner, locale: Locale, exc: Exception) -> Response:
    """The page again, nothing changed, when the shop could not be had: another process holds it (409), or the
    queue's Redis, which holds the shops' locks, is down (503)."""
    busy = isinstance(exc, ShopBusy)
    error = text("error.busy" if busy else "error.queue_down", locale)
    return _dashboard(request, owner, locale, error=error, status=409 if busy else 503)


@_owner_post("/policy/kill")
def kill_switch(request: Request, form: dict[str, str], owner: Owner) -> Response:
    """Pause Xiaoer (the policy's kill switch on: nothing executes) or resume it, as a new policy version.

    The form names the state wanted, so a second tap or a stale page never flips it back.
    """
    locale = _locale(form.get("lang"), owner.shop)
    if form.get("pause") not in ("0", "1"):
        return _dashboard(request, owner, locale, error=text("error.invalid", locale, detail="pause"), status=400)
    pause = form["pause"] == "1"
    with session_scope(request.app.state.engine) as session:
        row = current_policy(session, owner.shop.id)
        if row is not None and row.body["autonomy"]["kill_switch"] != pause:
            change_policy(session, owner.shop.id, {"autonomy": {"kill_switch": pause}}, owner.actor, KILL_NOTE)
    if row is None:
        return _dashboard(request, owner, locale, error=text("error.no_policy", locale), status=409)
    return RedirectResponse(_home(form.get("lang"), notice="paused" if pause else "resumed"), status_code=303)


@_owner_post("/policy/limits")
def edit_limits(request: Request, form: dict[str, str], owner: Owner) -> Response:
    """Save the limits form as a new policy version; a refused value shows the form again, as typed, saying why."""
    locale = _locale(form.get("lang"), owner.shop)
    entered, changes, problems = web_policy.read_form(form, locale)
    saved = False
    with session_scope(request.app.state.engine) as session:
        row = current_policy(session, owner.shop.id)
        if row is not None:
            problems = {**web_policy.refusals(row.body, changes, locale), **problems}
            saved = not problems and not web_policy.unchanged(row.body, changes)
            try:
                if saved:
                    change_policy(session, owner.shop.id, changes, owner.actor, LIMITS_NOTE)
            except PolicyError as exc:  # only if the policy changed under the form since it was checked
                return _dashboard(request, owner, locale, error=text("error.invalid", locale, detail=str(exc)),
                                  status=409)
    if row is None:
        return _dashboard(request, owner, locale, error=text("error.no_policy", locale), status=409)
    if problems:
        return _dashboard(request, owner, locale, limits=(entered, problems), status=400,
                          error=web_policy.refused(problems, locale))
    return RedirectResponse(_home(form.get("lang"), notice="limits_saved" if saved else "limits_unchanged"),
                            status_code=303)


@router.get("/r/{date}", response_class=HTMLResponse)
def report_page(request: Request, date: str, lang: str | None = None) -> Response:
    """The stored HTML report of a date, in the page's language (else the other one). Scripts are off."""
    owner = signed_in(request)
    if owner is None:
        return RedirectResponse(_home(lang), status_code=303)
    locale = _locale(lang, owner.shop)
    with session_scope(request.app.state.engine) as session:
        report = next(filter(None, (get_report(session, owner.shop.id, date, loc)
                                    for loc in (locale, *LOCALES))), None)
    if report is None or not report.html:
        return _refusal(locale, "report.none", status=404)
    response = HTMLResponse(report.html)
    _secure(response, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'")
    return response


# --- helpers ----------------------------------------------------------------------------------------------------------

def _dashboard(request: Request, owner: Owner, locale: Locale, *, notice: str | None = None, error: str = "",
               status: int = 200, limits: tuple[web_policy.Entered, web_policy.Problems] | None = None) -> Response:
    context = web_views.dashboard(request.app.state.engine, owner.shop, locale, limits)
    notice_text = text(f"notice.{notice}", locale, "") if notice else ""  # only notices we wrote
    return _render("page.html", locale, status=status, csrf=owner.csrf, notice=notice_text, error=error, **context)


def _render(name: str, locale: Locale, *, status: int, error: str = "", **context: Any) -> Response:
    nonce = secrets.token_urlsafe(16)
    other = LOCALES[1 - LOCALES.index(locale)]
    html = web_views.render(name, locale=locale, other_locale=other, nonce=nonce, error=error, **context)
    response = HTMLResponse(html, status_code=status)
    _secure(response, f"default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
                      "connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                      "base-uri 'none'")
    return response


def _secure(response: Response, csp: str) -> None:
    # Not no-referrer: under it browsers send `Origin: null` even on our own forms, and the origin check refuses them.
    response.headers.update({"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
                             "Referrer-Policy": "same-origin", "Cache-Control": "no-store"})


def _refusal(locale: Locale, key: str, status: int = 403) -> Response:
    return _render("message.html", locale, status=status, message=text(key, locale))


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the page sends nothing else), first value of each field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(status_code=413, detail="Form too large")  # only a hand-made request gets here
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _edit_fields(form: dict[str, str]) -> dict[str, float]:
    """The owner's new values (only the editable fields that were filled in), as numbers."""
    changes = {}
    for name in web_views.EDITABLE_FIELDS:
        raw = form.get(f"field_{name}", "").strip()
        if raw:
            try:
                changes[name] = float(raw)
            except ValueError:
                raise DecisionError(f"{name}: {raw!r} is not a number", field=name, code="invalid") from None
    return changes


def _locale(lang: str | None, shop: Shop | None) -> Locale:
    for candidate in (lang, shop.locale if shop else None):
        if candidate in LOCALES:
            return candidate
    return "zh-CN"


def _home(lang: str | None, notice: str | None = None) -> str:
    query = {k: v for k, v in (("lang", lang if lang in LOCALES else None), ("notice", notice)) if v}
    return "/" + (f"?{urlencode(query)}" if query else "")
