"""The owner page's chat box: the page's cookie and form token in place of the bearer token, the API's chat behind it.

The answer is the same stream of events as `POST /shops/{shop_id}/chat` (token, tool_call, tool_result,
proposal, then done or error), built by the same code (`routes_chat.open_turn`, `routes_chat.turn_events`).
The owner token stays in its httponly cookie; the page's script only ever holds the form token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from agent.service.errors import ApiError
from agent.service.routes_chat import ChatTurn, open_turn, turn_events
from agent.service.schemas import ChatRequest
from agent.service.web_auth import Owner, from_our_page, signed_in

router = APIRouter(include_in_schema=False)

CSRF_HEADER = "X-CSRF-Token"


def page_owner(request: Request) -> Owner:
    """The signed-in owner, for a request our own page sent: 401 without the cookie, 403 without the form
    token or from another site. Checked before the body is even validated."""
    owner = signed_in(request)
    if owner is None:
        raise ApiError(401, "sign in on the owner page first; the chat API takes `Authorization: Bearer <token>`")
    if not from_our_page(request, owner, request.headers.get(CSRF_HEADER, "")):
        raise ApiError(403, f"the request did not come from the owner page: send its form token in {CSRF_HEADER} "
                       "from the same origin (reload the page if it is stale)", code="csrf")
    return owner


def page_turn(owner: Annotated[Owner, Depends(page_owner)], body: ChatRequest, request: Request,
              response: Response) -> ChatTurn:
    """The turn of the owner signed in on the page, built exactly as the API's."""
    return open_turn(body, owner.shop.id, owner.actor, request, response)


@router.post("/chat", response_class=EventSourceResponse)
def chat(turn: Annotated[ChatTurn, Depends(page_turn)]) -> Iterator[ServerSentEvent]:
    """The chat box's message: JSON {message, thread_id} with the form token in the X-CSRF-Token header;
    the answer streams as server-sent events, the thread named in the X-Thread-Id header and the done event."""
    yield from turn_events(turn)
