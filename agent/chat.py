"""Chat with the owner: a LangGraph graph over the thread's messages (streamed as events by `agent.chat_stream`).

With a model, a ReAct loop over the shop's read, analysis and propose tools; without one, a
deterministic answerer for what the tools can answer (`agent.chat_intents`). Either way the
thread's messages are checkpointed per `thread_id`, so a later message continues the thread.
Chat only reads the platform: proposals go to the service's guard through `ChatContext.propose`,
and no tool can change the owner's policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal
from uuid import uuid4

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    BaseMessageChunk,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_chunk_to_message,
)
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime, get_runtime

from agent import chat_commands, chat_decisions
from agent.chat_answers import recent_for_model
from agent.chat_decisions import Answer
from agent.chat_i18n import t
from agent.chat_intents import answer_offline, asks_what_was_done
from agent.guarding import shop_state
from agent.i18n import Locale
from agent.jobs import DecisionError
from agent.llm import data_message, render_prompt, run_tool_calls
from agent.observe import observe
from agent.storage_proposals import ProposedBy
from marketplace.client import PlatformClient
from policies.actions import Action
from policies.limits import Policy
from tools import ProposalSink, propose_tools

log = logging.getLogger(__name__)

MAX_ROUNDS = 6  # tool rounds per message; the last model call may not call tools
PIECE_CHARS = 12  # characters per token event of an answer written without a model


@dataclass
class ChatContext:
    """What the service hands the chat for one shop; none of it is checkpointed."""

    shop_id: str
    client: PlatformClient  # the shop's platform client; chat only reads through it
    policy: Policy  # the owner's current policy
    pending: Callable[[], list[dict]]  # the shop's approval queue, from storage
    # What came of the shop's recent proposals (executed, failed, denied, rejected, expired), each with the `date`
    # of the run that proposed it, the latest date first: "what did you do?", "why did you pause a1?"
    done: Callable[[], list[dict]] = field(default=lambda: [])
    locale: str = "zh-CN"  # the answer language when the message does not show one
    model: BaseChatModel | None = None  # None: answer without an LLM; build it with streaming=True
    # Guards and stores proposals, one dict each; the second argument says who proposed them ("llm" or
    # "owner-chat": the owner's own words, read without a model).
    propose: Callable[[list[Action], ProposedBy], list[dict]] | None = None
    # The owner's answers to the queue ({proposal id: "approve" | "reject"}), as the page's buttons give them;
    # returns the answered proposals as they are afterwards, raises DecisionError. Reached only from the owner's
    # own words (`agent.chat_decisions`), never from a model's tool call.
    decide: Callable[[dict[str, Answer]], list[dict]] | None = None


@dataclass
class ChatRun:
    """One message's run-time context for the graph (the graph's `context`, never checkpointed)."""

    ctx: ChatContext
    locale: Locale
    sink: ProposalSink = field(default_factory=ProposalSink)
    tools: list[BaseTool] = field(default_factory=list)
    _pending: list[dict] | None = None
    _done: list[dict] | None = None

    def done(self) -> list[dict]:
        """What came of the recent proposals, read once per message."""
        if self._done is None:
            self._done = list(self.ctx.done())
        return self._done

    def pending(self) -> list[dict]:
        """The approval queue, read once per message."""
        if self._pending is None:
            self._pending = list(self.ctx.pending())
        return self._pending


# ---- the graph ------------------------------------------------------------------------------------
ChatGraph = CompiledStateGraph[MessagesState, ChatRun, MessagesState, MessagesState]


def chat_graph(checkpointer: BaseCheckpointSaver | None) -> ChatGraph:
    """The chat graph: state is the thread's messages; run it with `context=ChatRun(...)`."""
    g = StateGraph(MessagesState, context_schema=ChatRun)
    g.add_node("answer_offline", write_offline_answer)
    g.add_node("owner_decides", answer_the_queue)
    g.add_node("agent", call_model)
    g.add_node("tools", call_tools)
    g.add_conditional_edges(START, route_start)
    g.add_conditional_edges("agent", route_agent)
    g.add_edge("tools", "agent")
    g.add_edge("answer_offline", END)
    g.add_edge("owner_decides", END)
    return g.compile(checkpointer=checkpointer)


def route_start(state: MessagesState) -> Literal["agent", "answer_offline", "owner_decides"]:
    """The owner answering the approval queue is read here, before any model sees the message."""
    run = get_runtime(ChatRun).context
    if chat_decisions.read_decisions(_last_human(state["messages"]), run.pending()) is not None:
        return "owner_decides"
    return "agent" if run.ctx.model is not None else "answer_offline"


def route_agent(state: MessagesState) -> Literal["tools", "__end__"]:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls) else "__end__"  # END


def write_offline_answer(state: MessagesState, runtime: Runtime[ChatRun]) -> dict:
    """Answer the last message without a model, streaming the text in small pieces. A change the owner
    asks for in so many words becomes the propose calls a model would make (`agent.chat_commands`)."""
    run = runtime.context
    text = _last_human(state["messages"])
    if asks_what_was_done(text):  # "why did you pause a1?" asks about the past, not for a pause
        request: list[chat_commands.Call] | chat_commands.Unclear | None = None
    else:
        request = chat_commands.read_request(text, chat_commands.Shop.read(run.ctx.client))
    question = chat_commands.is_question(text)
    if isinstance(request, list) and not question:
        return {"messages": _propose_for_owner(run, request, runtime)}
    if isinstance(request, list):
        answer = chat_commands.what_if(request, run.ctx.client, run.ctx.policy, run.locale)
    elif isinstance(request, chat_commands.Unclear) and not question:
        answer = t(request.key, run.locale, **request.kw)
    else:
        answer = answer_offline(run.ctx.client, run.ctx.policy, run.pending, text, run.locale, run.done)
    _stream_text(runtime, answer)
    return {"messages": [AIMessage(answer)]}


def answer_the_queue(state: MessagesState, runtime: Runtime[ChatRun]) -> dict:
    """Approve or reject what the owner named, through the service, and say what became of each."""
    run = runtime.context
    pending = run.pending()
    got = chat_decisions.read_decisions(_last_human(state["messages"]), pending)
    if got is None or isinstance(got, chat_commands.Unclear):
        answer = t(got.key, run.locale, **got.kw) if got is not None else t("decide.none_pending", run.locale)
    elif run.ctx.decide is None:
        answer = t("decide.no_channel", run.locale)
    else:
        try:
            after = run.ctx.decide(got)
        except DecisionError as exc:  # expired, already answered: nothing was applied
            answer = t("decide.failed_all", run.locale, why=str(exc))
        else:
            states = {p["id"]: p.get("state") for p in after}
            for pid, choice in got.items():
                runtime.stream_writer({"event": "decided", "data": {"id": pid, "decision": choice,
                                                                    "state": states.get(pid)}})
            answer = "\n".join(chat_decisions.outcome_lines(got, after, pending, run.locale))
    _stream_text(runtime, answer)
    return {"messages": [AIMessage(answer)]}


def _propose_for_owner(run: ChatRun, calls: list[chat_commands.Call], runtime: Runtime[ChatRun]) -> list[AnyMessage]:
    """The owner's request as propose calls, through the same tools and the same guard as a model's."""
    ai = AIMessage("", tool_calls=[{"name": c.name, "args": c.args, "id": f"owner-{uuid4().hex[:12]}",
                                    "type": "tool_call"} for c in calls])
    for tc in ai.tool_calls:
        runtime.stream_writer({"event": "tool_call", "data": {"name": tc["name"], "args": tc["args"]}})
    by_name = {tool.name: tool for tool in propose_tools(run.ctx.client, run.sink)}
    fill = partial(chat_commands.fill_unsaid, calls=calls, policy=run.ctx.policy,
                   state=lambda: shop_state(observe(run.ctx.client)))
    results = _run_and_submit(run, ai, by_name, "owner-chat", fill)
    queue = {p["id"]: n for n, p in enumerate(run.ctx.pending(), start=1)}  # read again: it holds them now
    lines = []
    for msg in results:
        proposal = msg.artifact.get("proposal") if isinstance(msg.artifact, dict) else None
        lines.append(chat_commands.outcome_line(proposal["action"], proposal, run.locale, queue.get(proposal["id"]))
                     if proposal else
                     t("cmd.not_recorded", run.locale, why=str(msg.content)))
    answer = "\n".join(["- " + line for line in lines] if len(lines) > 1 else lines)
    _stream_text(runtime, answer)
    return [ai, *results, AIMessage(answer)]


def _stream_text(runtime: Runtime[ChatRun], text: str) -> None:
    for k in range(0, len(text), PIECE_CHARS):
        runtime.stream_writer({"event": "token", "data": {"text": text[k:k + PIECE_CHARS]}})


def call_model(state: MessagesState, runtime: Runtime[ChatRun]) -> dict:
    """One model turn over the thread, with the shop's policy and approval queue as data."""
    run = runtime.context
    model = run.ctx.model
    if model is None:
        raise RuntimeError("the agent node runs only with a model; route_start sends model-less chats elsewhere")
    final = tool_rounds(state["messages"]) >= MAX_ROUNDS
    bound = model.bind_tools(run.tools, tool_choice="none") if final else model.bind_tools(run.tools)
    context = {"shop_id": run.ctx.shop_id, "policy": run.ctx.policy.model_dump(mode="json"),
               "pending_approvals": run.pending(), "recent_decisions": recent_for_model(run.done(), run.locale)}
    ai = _streamed(bound, [SystemMessage(render_prompt("chat", run.locale, max_rounds=MAX_ROUNDS)),
                           HumanMessage(data_message({"shop_context": context})), *state["messages"]])
    if final and (ai.tool_calls or ai.invalid_tool_calls):
        # A tool call left unanswered would make the next request of this thread invalid.
        ai = AIMessage(str(ai.text).strip() or t("llm.max_rounds", run.locale, rounds=MAX_ROUNDS), id=ai.id,
                       usage_metadata=ai.usage_metadata)
    return {"messages": [ai]}


def _streamed(model: Runnable[list[BaseMessage], BaseMessage], messages: list[BaseMessage]) -> AIMessage:
    """The model's answer, asked for as a stream so its tokens reach the owner as they come. A model
    built with `streaming=False` answers in one piece; build it with `make_chat_model(streaming=True)`."""
    whole: BaseMessage | None = None
    for part in model.stream(messages):
        if isinstance(whole, BaseMessageChunk) and isinstance(part, BaseMessageChunk):
            whole = whole + part
        elif whole is None:
            whole = part
        else:
            raise TypeError(f"expected the model to stream message chunks, got {type(part).__name__}")
    ai = message_chunk_to_message(whole) if isinstance(whole, BaseMessageChunk) else whole
    if not isinstance(ai, AIMessage):
        raise TypeError(f"expected the model to answer with an AIMessage, got {type(ai).__name__}")
    return ai


def call_tools(state: MessagesState, runtime: Runtime[ChatRun]) -> dict:
    """Run the last model turn's tool calls; hand new proposals to the service and note its answer."""
    run = runtime.context
    ai = state["messages"][-1]
    if not isinstance(ai, AIMessage):
        raise TypeError(f"expected the model's turn before the tools, got {type(ai).__name__}")
    return {"messages": _run_and_submit(run, ai, {tool.name: tool for tool in run.tools}, "llm")}


def _run_and_submit(run: ChatRun, ai: AIMessage, by_name: dict[str, BaseTool], proposed_by: ProposedBy,
                    refine: Callable[[list[Action]], list[Action]] | None = None) -> list[ToolMessage]:
    """One tool message per call in `ai`; each proposal a call recorded goes to the service (after `refine`,
    when given), and its answer is added to that call's message."""
    results: list[ToolMessage] = []
    made: list[tuple[int, Action]] = []  # (index in results, proposal recorded by that call)
    for tc in ai.tool_calls:
        before = len(run.sink)
        results.extend(run_tool_calls(AIMessage("", tool_calls=[tc]), by_name))
        made.extend((len(results) - 1, action) for action in run.sink.proposals[before:])
    results.extend(run_tool_calls(AIMessage("", invalid_tool_calls=ai.invalid_tool_calls), by_name))
    actions = [a for _, a in made]
    if refine is not None and actions:
        actions = refine(actions)
    for (index, _), action, outcome in zip(made, actions, submit(run, actions, proposed_by), strict=True):
        msg = results[index]
        note = f"\nguard: {outcome.get('decision')}: {outcome.get('message', '')}"
        results[index] = msg.model_copy(update={"content": f"{msg.content}{note}",
                                                "artifact": {"proposal": proposal_data(action, outcome)}})
    return results


def submit(run: ChatRun, actions: list[Action], proposed_by: ProposedBy = "llm") -> list[dict]:
    """The service's answer for each proposal, or "not submitted" when there is no approval channel."""
    if not actions:
        return []
    if run.ctx.propose is None:
        return [{"id": None, "decision": "not_submitted", "message": t("proposal.not_submitted", run.locale)}
                for _ in actions]
    outcomes = run.ctx.propose(actions, proposed_by)
    if len(outcomes) != len(actions):
        raise ValueError(f"propose: expected one answer per proposal ({len(actions)}), got {len(outcomes)}")
    return outcomes


def proposal_data(action: Action, outcome: dict) -> dict[str, Any]:
    """A proposal event's data: the service's answer (id, decision, message…) and the action as it stored
    it (else as proposed)."""
    return {**outcome, "kind": action.kind.value, "target": action.target, "rationale": action.rationale,
            "action": outcome.get("action") or action.model_dump(mode="json")}


def tool_rounds(messages: list[AnyMessage]) -> int:
    """Model turns with tool calls since the owner's last message."""
    rounds = 0
    for m in reversed(messages):
        if isinstance(m, HumanMessage):
            break
        rounds += isinstance(m, AIMessage) and bool(m.tool_calls or m.invalid_tool_calls)
    return rounds


def _last_human(messages: list[AnyMessage]) -> str:
    for m in reversed(messages):
        if isinstance(m, HumanMessage):
            return str(m.text)
    raise ValueError("expected a message from the owner in the thread, found none")
