"""Chat with the agent about the shop, streamed as server-sent events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Depends, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy import Engine

from agent.chat import ChatContext
from agent.chat_decisions import Answer
from agent.chat_stream import chat_stream
from agent.jobs import OwnerDecision
from agent.service import metrics
from agent.service.deps import CurrentOwner
from agent.service.errors import responses
from agent.service.routes_proposals import apply_decisions
from agent.service.routes_runs import require_ready
from agent.service.schemas import ChatRequest, ProposalPublic
from agent.storage import current_policy, decided_proposals, get_shop, pending_proposals, session_scope
from policies.limits import parse_policy

router = APIRouter(prefix="/shops/{shop_id}", tags=["chat"], responses=responses(401, 404))

THREAD_HEADER = "X-Thread-Id"


@dataclass
class ChatTurn:
    """One message to answer: the chat's context, the thread as the owner knows it and as it is stored."""

    ctx: ChatContext
    message: str
    thread_id: str  # what the owner sees and sends back
    thread_key: str  # the checkpointer's thread: scoped to the shop, so no id reaches another shop's chat
    checkpointer: Any


def start_turn(body: ChatRequest, owner: CurrentOwner, request: Request, response: Response) -> ChatTurn:
    """The API's turn: the owner of the bearer token asks (see `open_turn`)."""
    return open_turn(body, owner.shop_id, owner.actor, request, response)


def open_turn(body: ChatRequest, shop_id: str, actor: str, request: Request, response: Response) -> ChatTurn:
    """Everything the answer needs, checked before the stream starts (errors are still plain HTTP errors).
    The caller has authenticated `actor` as an owner of `shop_id` (bearer token here, the cookie on the page)."""
    state = request.app.state
    engine: Engine = state.engine
    with session_scope(engine) as session:
        require_ready(session, shop_id)
        row = current_policy(session, shop_id)
        shop = get_shop(session, shop_id)
        assert row is not None and shop is not None  # require_ready and the owner's token vouch for both
        policy, locale = parse_policy(row.body), shop.locale
    ctx = ChatContext(
        shop_id=shop_id, client=state.platform(shop_id), policy=policy,
        pending=lambda: _pending(engine, shop_id), done=lambda: _done(engine, shop_id), locale=locale,
        model=state.chat_model,
        # The model's proposals go through the guard in a chat run and wait in the owner's queue.
        propose=lambda actions, by: state.jobs.propose(shop_id, actions, actor=f"chat:{actor}", proposed_by=by),
        # The owner's own "approve 2" / "全部拒绝", read from the message before any model sees it.
        decide=lambda answers: _decide(state, shop_id, actor, answers),
    )
    thread_id = body.thread_id or uuid4().hex
    response.headers[THREAD_HEADER] = thread_id
    return ChatTurn(ctx, body.message, thread_id, f"chat:{shop_id}:{thread_id}", state.checkpointer)


@router.post(
    "/chat", response_class=EventSourceResponse, summary="Chat with the agent (server-sent events)",
    responses={**responses(409, 422), 200: {
        "description": "Events `token` {text}, `tool_call` {name, args}, `tool_result` {name, summary}, "
                       "`proposal` {id, decision, …}, `decided` {id, decision, state} (the owner's \"approve 2\"), "
                       "then `done` {thread_id, answer, usage} or `error` {message}. "
                       f"The `{THREAD_HEADER}` header names the thread to continue."}},
)
def chat(turn: Annotated[ChatTurn, Depends(start_turn)]) -> Iterator[ServerSentEvent]:
    """Ask about the shop ("why did orders of SKU-12 drop?"); the answer comes from the same tools as the
    daily run. The chat cannot change the policy, and nothing it proposes runs before the owner approves it:
    what the model (or, without one, the owner's own request) proposes is guarded and waits in the approval
    queue. The owner may answer the queue here in words ("approve 2", "全部拒绝"), read before any model sees
    the message."""
    yield from turn_events(turn)


def turn_events(turn: ChatTurn) -> Iterator[ServerSentEvent]:
    """The answer to one turn as server-sent events (the API's route and the owner page's both send these)."""
    for item in chat_stream(turn.ctx, turn.message, turn.thread_key, turn.checkpointer):
        event, data = item["event"], dict(item.get("data") or {})
        if event == "done":
            data["thread_id"] = turn.thread_id  # never the shop-scoped storage key
            metrics.add_llm_tokens(int((data.get("usage") or {}).get("total_tokens") or 0))
        yield ServerSentEvent(event=event, data=data)


def _decide(state: Any, shop_id: str, actor: str, answers: dict[str, Answer]) -> list[dict[str, Any]]:
    """Apply the owner's answers given in chat the way the page's buttons do; the proposals afterwards."""
    _, proposals = apply_decisions(state, shop_id, actor, {pid: OwnerDecision(a) for pid, a in answers.items()})
    return [p.model_dump(mode="json") for p in proposals]


def _done(engine: Engine, shop_id: str) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return [{**ProposalPublic.of(p).model_dump(mode="json"), "date": date}
                for date, p in decided_proposals(session, shop_id)]


def _pending(engine: Engine, shop_id: str) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return [ProposalPublic.of(p).model_dump(mode="json") for p in pending_proposals(session, shop_id)]
