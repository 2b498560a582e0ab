"""Strategies that run a shop in the harness: baselines, the oracle, and (later) the agent."""
