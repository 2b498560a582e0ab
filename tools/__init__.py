"""The agent's tools: read the platform, analyse, and propose. None of them executes anything.

Execution belongs to the graph, after the owner's guard; the tools only hold the read half of
the platform client, and the propose tools only record validated actions in a `ProposalSink`.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from marketplace.client import PlatformClient
from policies.limits import Policy
from tools.analysis_tools import analysis_tools
from tools.platform_tools import ReadOnlyPlatform, as_data, read_tools
from tools.proposals import ProposalSink, Recorded, propose_tools


def make_tools(client: PlatformClient, sink: ProposalSink, policy: Policy | None = None) -> list[BaseTool]:
    """Every tool for one shop: reads, analyses (under `policy` when given) and proposals into `sink`."""
    reads = ReadOnlyPlatform(client)
    return [*read_tools(reads), *analysis_tools(reads, policy), *propose_tools(reads, sink)]


__all__ = ["make_tools", "ProposalSink", "Recorded", "ReadOnlyPlatform", "as_data", "read_tools", "analysis_tools",
           "propose_tools"]
