"""Xiaoer's schema migrations (Alembic), shipped in the package; `agent.storage.init_db` runs them on start."""
