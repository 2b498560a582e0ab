"""The optional LLM: configuration, prompts, a small ReAct planning loop, and the report narrative.

Any OpenAI-compatible chat endpoint works (OpenAI, DeepSeek, Qwen, vLLM, Ollama) through
`langchain-openai`, imported only when a model is configured. The model can only read, analyse
and propose through the tools it is given; every proposal still goes through the owner's guard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from prompts import PROMPT_DIR
from tools.platform_tools import as_data

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages.ai import UsageMetadata
    from langchain_core.tools import BaseTool

    from policies.actions import Action
    from tools.proposals import ProposalSink

ROLES = ("planner", "reporter", "chat")
LOCALES = ("en", "zh-CN")
DEFAULT_MODEL = "gpt-4o-mini"
# Servers such as Ollama need no key, but the OpenAI client insists on one.
NO_KEY = "not-needed"


class LlmSettings(BaseSettings):
    """Where the chat model lives, read from the environment. No key, no URL: no LLM."""

    # The prefix keeps a field's own name from being read as a variable ($MODEL, $API_KEY, $TIMEOUT belong to others).
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="XIAOER_LLM_")

    base_url: str | None = Field(None, validation_alias="XIAOER_LLM_BASE_URL",
                                 description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1.")
    api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("XIAOER_LLM_API_KEY", "OPENAI_API_KEY"),
                                      description="API key; XIAOER_LLM_API_KEY wins over OPENAI_API_KEY.")
    model: str = Field(DEFAULT_MODEL, validation_alias="XIAOER_LLM_MODEL", description="Model name.")
    timeout: float = Field(60.0, gt=0, validation_alias="XIAOER_LLM_TIMEOUT", description="Seconds per request.")
    stream_usage: bool = Field(True, validation_alias="XIAOER_LLM_STREAM_USAGE",
                               description="Ask for token usage when streaming; turn off for servers that "
                               "reject `stream_options`.")

    @property
    def key(self) -> str | None:
        return (self.api_key.get_secret_value() or None) if self.api_key is not None else None

    @property
    def configured(self) -> bool:
        """An endpoint or a key is set (a key alone means OpenAI's own endpoint)."""
        return bool(self.base_url) or self.key is not None


def llm_configured() -> bool:
    """Whether the environment names a chat model to use."""
    return LlmSettings().configured


def make_chat_model(settings: LlmSettings | None = None, *, streaming: bool = False,
                    max_retries: int = 2) -> BaseChatModel | None:
    """A `ChatOpenAI` for the configured endpoint, or None when no LLM is configured.

    `streaming=True` makes `invoke` use server-sent events under the hood (and `stream` works
    either way); token usage is asked for in both modes.
    """
    settings = settings or LlmSettings()
    if not settings.configured:
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(base_url=settings.base_url or None, api_key=settings.key or NO_KEY, model=settings.model,
                      timeout=settings.timeout, max_retries=max_retries, streaming=streaming,
                      stream_usage=settings.stream_usage)


# ---- prompts --------------------------------------------------------------------------------
def load_prompt(role: str, locale: str = "en") -> str:
    """The system prompt `prompts/<role>.<locale>.md`; any zh locale reads zh-CN, others fall back to en."""
    if role not in ROLES:
        raise ValueError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    for candidate in _locale_chain(locale):
        path = PROMPT_DIR / f"{role}.{candidate}.md"
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    raise FileNotFoundError(f"no prompt for role {role!r} in {PROMPT_DIR}")


def render_prompt(role: str, locale: str = "en", **values: Any) -> str:
    """A prompt with its `{name}` placeholders filled; unknown placeholders are left as they are."""
    text = load_prompt(role, locale)
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


def _locale_chain(locale: str) -> list[str]:
    norm = (locale or "en").replace("_", "-")
    chain = [norm]
    if norm.lower().startswith("zh"):
        chain.append("zh-CN")
    chain.append("en")
    return chain


def data_message(sections: dict[str, Any]) -> str:
    """Each section as `<name>JSON</name>`: platform text stays data inside JSON strings whose
    `<` and `>` are escaped, so it cannot close a tag or pose as an instruction."""
    parts = []
    for name, value in sections.items():
        tag = re.sub(r"[^a-z0-9_]", "_", str(name).lower()) or "data"
        parts.append(f"<{tag}>\n{as_data(value)}\n</{tag}>")
    return "\n".join(parts)


# ---- the planning loop ----------------------------------------------------------------------
@dataclass
class TokenUsage:
    """Tokens reported by the model's `usage_metadata`, summed over calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0

    def add(self, usage: UsageMetadata | None) -> None:
        self.calls += 1
        if usage:
            self.input_tokens += usage.get("input_tokens", 0)
            self.output_tokens += usage.get("output_tokens", 0)
            self.total_tokens += usage.get("total_tokens", 0)


@dataclass
class LlmPlanResult:
    """What a planning run produced: proposals for the guard, the model's closing text, and cost."""

    proposals: list[Action]
    text: str
    usage: TokenUsage
    steps: int
    stopped: Literal["answered", "max_steps"]
    messages: list[BaseMessage] = field(default_factory=list)


def llm_plan(model: BaseChatModel, tools: Sequence[BaseTool], context: dict[str, Any], locale: str = "en", *,
             sink: ProposalSink, max_steps: int = 8) -> LlmPlanResult:
    """Let the model read, analyse and propose through `tools` until it answers without a tool call.

    `context` becomes tagged data sections of the first user message (e.g. `shop`, `kpis`,
    `candidates`: the deterministic planner's proposals, as JSON). Each model turn counts as a
    step; after `max_steps` the loop stops even if the model still wants tools. Tool errors
    (bad arguments, unknown tools, malformed JSON) go back to the model as tool messages.
    The proposals are whatever the model recorded in `sink` through the propose tools.
    """
    if max_steps < 1:
        raise ValueError(f"max_steps: expected at least 1, got {max_steps}")
    by_name = {t.name: t for t in tools}
    bound = model.bind_tools(list(tools))
    messages: list[BaseMessage] = [SystemMessage(render_prompt("planner", locale, max_steps=max_steps)),
                                   HumanMessage(data_message(context))]
    usage = TokenUsage()
    for step in range(1, max_steps + 1):
        ai = bound.invoke(messages)
        if not isinstance(ai, AIMessage):
            raise TypeError(f"expected the model to answer with an AIMessage, got {type(ai).__name__}")
        usage.add(ai.usage_metadata)
        messages.append(ai)
        if not ai.tool_calls and not ai.invalid_tool_calls:
            return LlmPlanResult(sink.proposals, str(ai.text).strip(), usage, step, "answered", messages)
        messages.extend(run_tool_calls(ai, by_name))
    return LlmPlanResult(sink.proposals, "", usage, max_steps, "max_steps", messages)


def run_tool_calls(ai: AIMessage, by_name: dict[str, BaseTool]) -> list[ToolMessage]:
    """One tool message per call in `ai`, in order: the tool's answer, or an error the model can fix."""
    out: list[ToolMessage] = []
    for tc in ai.tool_calls:
        tool = by_name.get(tc["name"])
        if tool is None:
            out.append(ToolMessage(f"error: there is no tool {tc['name']!r}; use one of: {', '.join(by_name)}",
                                   tool_call_id=tc["id"] or "", name=tc["name"], status="error"))
        else:
            out.append(tool.invoke(tc))
    for bad in ai.invalid_tool_calls:
        out.append(ToolMessage(f"error: the arguments of {bad.get('name')!r} are not a valid JSON object: "
                               f"{(bad.get('args') or '')[:200]!r}; call it again with valid JSON",
                               tool_call_id=bad.get("id") or "", name=bad.get("name") or "", status="error"))
    return out


def llm_narrative(model: BaseChatModel, report_facts: dict[str, Any], locale: str = "en",
                  usage: TokenUsage | None = None) -> str:
    """A short narrative for the daily report, written from `report_facts` only; tokens added to `usage`."""
    ai = model.invoke([SystemMessage(load_prompt("reporter", locale)),
                       HumanMessage(data_message({"report_facts": report_facts}))])
    if usage is not None:
        usage.add(getattr(ai, "usage_metadata", None))
    return str(ai.text).strip()
