"""A scripted OpenAI-compatible chat server, so the LLM path runs offline against the real protocol.

It speaks `POST /v1/chat/completions` (plain JSON, or `stream: true` server-sent events with tool
call arguments split across chunks and `data: [DONE]`) and `GET /v1/models`, which is what
`langchain_openai.ChatOpenAI` needs. What it answers is a script: a list of replies used in turn,
or a rule `(messages, tools) -> Reply`. Every request is recorded, so a test can assert what the
client sent (system prompt, tool schemas, tool results).

    stub = LlmStub([call("get_campaigns"), call("propose_bid", campaign_id="cmp-a1", bid=1.1,
                                                  rationale="..."), say("done")])
    with run_stub(stub) as base_url:
        model = ChatOpenAI(base_url=base_url, api_key="stub", model="stub-model")
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

STUB_MODEL = "stub-model"


@dataclass(frozen=True)
class ToolCall:
    """One tool call in a reply; `arguments` as a string lets a script send malformed JSON."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What the model says in one turn: text, tool calls, or both."""

    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


def say(text: str) -> Reply:
    """A reply with text only: the model's final answer."""
    return Reply(content=text)


def call(name: str, arguments: dict[str, Any] | str | None = None, /, **kwargs: Any) -> Reply:
    """A reply with one tool call; arguments as a dict, keywords, or a raw (maybe broken) JSON string."""
    return Reply(tool_calls=(ToolCall(name, kwargs if arguments is None else arguments),))


def calls(*tool_calls: ToolCall, content: str = "") -> Reply:
    """A reply with several (parallel) tool calls."""
    return Reply(content=content, tool_calls=tuple(tool_calls))


Rule = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Reply]
Script = Sequence[Reply] | Rule


def tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool messages in a request, oldest first (handy inside rules)."""
    return [m for m in messages if m.get("role") == "tool"]


class LlmStub:
    """The scripted server's state: the script, the requests seen, the usage reported."""

    def __init__(self, script: Script, model: str = STUB_MODEL, chunk_size: int = 7):
        self.model = model
        self.chunk_size = chunk_size
        self.requests: list[dict[str, Any]] = []
        self.usages: list[dict[str, int]] = []
        self._lock = threading.Lock()
        self.load(script)

    def load(self, script: Script) -> None:
        """Replace the script and forget what was seen, e.g. between tests sharing one server."""
        with self._lock:
            self._script = script
            self._turn = 0
            self.requests.clear()
            self.usages.clear()

    @property
    def total_tokens(self) -> int:
        return sum(u["total_tokens"] for u in self.usages)

    def reply(self, body: dict[str, Any]) -> tuple[Reply, dict[str, int]]:
        """Record a request and decide the reply and its token usage."""
        with self._lock:
            self.requests.append(body)
            script, turn = self._script, self._turn
            self._turn += 1
        messages, tools = body.get("messages", []), body.get("tools", [])
        if callable(script):
            reply = script(messages, tools)
        else:
            reply = script[turn] if turn < len(script) else say("(stub script exhausted)")
        usage = _usage(messages, tools, reply)
        with self._lock:
            self.usages.append(usage)
        return reply, usage

    def make_app(self) -> FastAPI:
        """The ASGI app serving this stub (mountable in a TestClient as well)."""
        app = FastAPI(title="Xiaoer LLM stub")

        @app.get("/v1/models")
        def models() -> dict:
            return {"object": "list", "data": [{"id": self.model, "object": "model", "created": 0,
                                                "owned_by": "xiaoer-stub"}]}

        @app.post("/v1/chat/completions")
        async def completions(request: Request):
            body = await request.json()
            reply, usage = self.reply(body)
            ident = f"chatcmpl-stub-{len(self.requests)}"
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                events = _stream(ident, body.get("model", self.model), reply, usage if include_usage else None,
                                 self.chunk_size)
                return StreamingResponse(events, media_type="text/event-stream")
            return JSONResponse(_completion(ident, body.get("model", self.model), reply, usage))

        return app


# ---- the wire format --------------------------------------------------------------------------
def _openai_calls(reply: Reply, ident: str) -> list[dict[str, Any]]:
    return [{"id": f"call_{ident[-6:]}_{k}", "type": "function",
             "function": {"name": tc.name, "arguments": tc.arguments if isinstance(tc.arguments, str)
                          else json.dumps(tc.arguments, ensure_ascii=False)}}
            for k, tc in enumerate(reply.tool_calls)]


def _finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls else "stop"


def _completion(ident: str, model: str, reply: Reply, usage: dict[str, int]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.tool_calls:
        message["tool_calls"] = _openai_calls(reply, ident)
    return {"id": ident, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(reply), "logprobs": None}],
            "usage": usage}


def _stream(ident: str, model: str, reply: Reply, usage: dict[str, int] | None, size: int) -> Iterator[str]:
    """SSE chunks: role, content pieces, each tool call's head then its arguments in pieces, finish,
    then (when asked for with `stream_options.include_usage`) a usage chunk with no choices."""
    created = int(time.time())

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
        data = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": choices, **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for k in range(0, len(reply.content), size):
        yield chunk({"content": reply.content[k:k + size]})
    for index, tc in enumerate(_openai_calls(reply, ident)):
        head = {"index": index, "id": tc["id"], "type": "function",
                "function": {"name": tc["function"]["name"], "arguments": ""}}
        yield chunk({"tool_calls": [head]})
        args = tc["function"]["arguments"]
        for k in range(0, len(args), size):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": args[k:k + size]}}]})
    yield chunk({}, _finish(reply))
    if usage is not None:
        yield chunk(None, usage=usage)
    yield "data: [DONE]\n\n"


def _usage(messages: list[dict[str, Any]], tools: list[dict[str, Any]], reply: Reply) -> dict[str, int]:
    """A deterministic stand-in for token counts: about four characters a token."""
    prompt = len(json.dumps(messages, ensure_ascii=False)) + len(json.dumps(tools, ensure_ascii=False))
    completion = len(reply.content) + sum(len(json.dumps(tc.arguments)) + len(tc.name) for tc in reply.tool_calls)
    p, c = max(prompt // 4, 1), max(completion // 4, 1)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


# ---- running it -------------------------------------------------------------------------------
@contextmanager
def run_stub(script: Script | LlmStub) -> Iterator[str]:
    """Serve a stub on 127.0.0.1 and a free port in a background thread; yield its `/v1` base URL."""
    from agent.serving import serve_in_thread

    stub = script if isinstance(script, LlmStub) else LlmStub(script)
    with serve_in_thread(stub.make_app(), name="llm-stub") as url:
        yield f"{url}/v1"
