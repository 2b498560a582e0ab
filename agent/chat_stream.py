"""A chat turn as a stream of events: the owner's message through the chat graph (`agent.chat`), its parts turned
into token, tool_call, tool_result, proposal and done events for server-sent events, the tokens counted."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import MessagesState
from langgraph.types import StreamMode

from agent.chat import MAX_ROUNDS, ChatContext, ChatRun, chat_graph
from agent.chat_i18n import message_locale, t
from agent.i18n import Locale
from agent.llm import TokenUsage
from marketplace.client import PlatformError
from tools import make_tools

log = logging.getLogger(__name__)

SUMMARY_CHARS = 240  # of a tool result, in its event
REFUSED = (401, 403)  # the platform's answers to a token it does not know or does not let in


def chat_stream(ctx: ChatContext, message: str, thread_id: str,
                checkpointer: BaseCheckpointSaver | None) -> Iterator[dict]:
    """Answer `message` on `thread_id`, yielding token, tool_call, tool_result, proposal and finally
    done events (or one error event, then nothing)."""
    locale = message_locale(message, ctx.locale)
    run = ChatRun(ctx, locale)
    if ctx.model is not None:
        run.tools = make_tools(ctx.client, run.sink, ctx.policy)
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}, "recursion_limit": 2 * MAX_ROUNDS + 4}
    events = _Events()
    try:
        graph = chat_graph(checkpointer)
        history = graph.get_state(config).values.get("messages", []) if checkpointer is not None else []
        new: list[AnyMessage] = [*unanswered_calls(history), HumanMessage(message)]
        modes: list[StreamMode] = ["messages", "custom", "updates"]
        for mode, data in graph.stream(MessagesState(messages=new), config, context=run, stream_mode=modes):
            yield from events.convert(mode, data)
    except Exception as exc:  # the owner gets a plain sentence; the log keeps the trace and the details
        log.exception("chat on thread %s failed", thread_id)
        text = _failure_text(exc, locale)
        yield {"event": "error", "data": {"message": text, "kind": type(exc).__name__}}
        return
    usage = events.usage
    yield {"event": "done", "data": {"thread_id": thread_id, "answer": events.answer, "llm": ctx.model is not None,
                                     "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                                               "total_tokens": usage.total_tokens}}}


def _failure_text(exc: Exception, locale: Locale) -> str:
    """What the owner reads when a turn fails: a platform that refused our token is not one that is down."""
    if isinstance(exc, PlatformError) and exc.status in REFUSED:
        return t("chat.platform_refused", locale, status=exc.status)
    if isinstance(exc, PlatformError):
        return t("chat.platform_down", locale)
    return t("chat.failed", locale, kind=type(exc).__name__)


def unanswered_calls(messages: list[AnyMessage]) -> list[ToolMessage]:
    """Closing tool messages for calls a failed turn left unanswered (servers reject such a history)."""
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    out = []
    for m in messages:
        if isinstance(m, AIMessage):
            for tc in [*m.tool_calls, *m.invalid_tool_calls]:
                if tc.get("id") and tc["id"] not in answered:
                    out.append(ToolMessage("error: not run, the turn ended first", tool_call_id=tc["id"],
                                           name=tc.get("name") or "", status="error"))
    return out


@dataclass
class _Events:
    """Turns the graph's stream parts into chat events, keeping the answer and the token count."""

    usage: TokenUsage = field(default_factory=TokenUsage)
    answer: str = ""
    streamed: bool = False  # tokens of the current model turn already went out

    def convert(self, mode: str, data: Any) -> Iterator[dict]:
        if mode == "custom":
            yield data
        elif mode == "messages":
            chunk, meta = data
            if meta.get("langgraph_node") == "agent" and isinstance(chunk, AIMessageChunk) and chunk.text:
                self.streamed = True
                yield {"event": "token", "data": {"text": str(chunk.text)}}
        elif mode == "updates":
            for node, update in data.items():
                yield from self._update(node, (update or {}).get("messages", []))

    def _update(self, node: str, messages: list[AnyMessage]) -> Iterator[dict]:
        for m in messages:
            if node == "agent" and isinstance(m, AIMessage):
                yield from self._model_turn(m)
            elif node in ("answer_offline", "owner_decides") and isinstance(m, AIMessage):
                self.answer = str(m.text)
            elif isinstance(m, ToolMessage):
                yield {"event": "tool_result", "data": {"name": m.name, "summary": str(m.content)[:SUMMARY_CHARS]}}
                if isinstance(m.artifact, dict) and "proposal" in m.artifact:
                    yield {"event": "proposal", "data": m.artifact["proposal"]}

    def _model_turn(self, ai: AIMessage) -> Iterator[dict]:
        self.usage.add(ai.usage_metadata)
        text = str(ai.text)
        if text and not self.streamed:  # a model that does not stream still gets its text out
            yield {"event": "token", "data": {"text": text}}
        self.streamed = False
        for tc in ai.tool_calls:
            yield {"event": "tool_call", "data": {"name": tc["name"], "args": tc["args"]}}
        for bad in ai.invalid_tool_calls:
            yield {"event": "tool_call", "data": {"name": bad.get("name"), "args": bad.get("args")}}
        if not ai.tool_calls and not ai.invalid_tool_calls:
            self.answer = text.strip()
