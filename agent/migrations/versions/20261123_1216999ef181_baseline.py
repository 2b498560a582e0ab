"""Baseline: the schema as create_all made it before migrations.

Revision ID: 1216999ef181
Revises:
Create Date: 2026-11-23 16:00:51.611353

`agent.storage.init_db` stamps a database made by an older Xiaoer at this revision, then upgrades it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "1216999ef181"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
UTC_TIME = sa.DateTime(timezone=True)  # agent.storage_models.UTCDateTime
LIVE_DAILY_RUN = "status != 'failed' AND kind = 'daily'"


def upgrade() -> None:
    op.create_table(
        "shops",
        sa.Column("id", String(), nullable=False),
        sa.Column("name", String(), nullable=False),
        sa.Column("locale", String(), nullable=False),
        sa.Column("timezone", String(), nullable=False),
        sa.Column("daily_run_time", String(), nullable=False),
        sa.Column("platform_url", String(), nullable=True),
        sa.Column("platform_token", String(), nullable=True),
        sa.Column("webhook_url", String(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("shop_id", String(), nullable=False),
        sa.Column("run_id", String(), nullable=True),
        sa.Column("proposal_id", String(), nullable=True),
        sa.Column("actor", String(), nullable=False),
        sa.Column("event", String(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_events_proposal_id", "audit_events", ["proposal_id"])
    op.create_index("ix_audit_events_run_id", "audit_events", ["run_id"])
    op.create_index("ix_audit_events_shop_id_id", "audit_events", ["shop_id", "id"])
    op.create_table(
        "planner_memory",
        sa.Column("shop_id", String(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"]),
        sa.PrimaryKeyConstraint("shop_id"),
    )
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("changed_by", String(), nullable=False),
        sa.Column("changed_at", UTC_TIME, nullable=False),
        sa.Column("note", String(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "version", name="uq_policy_versions_shop_version"),
    )
    op.create_index("ix_policy_versions_shop_id", "policy_versions", ["shop_id"])
    op.create_table(
        "runs",
        sa.Column("id", String(), nullable=False),
        sa.Column("shop_id", String(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("date", String(), nullable=False),
        sa.Column("kind", String(), nullable=False),
        sa.Column("status", String(), nullable=False),
        sa.Column("thread_id", String(), nullable=False),
        sa.Column("started_at", UTC_TIME, nullable=False),
        sa.Column("finished_at", UTC_TIME, nullable=True),
        sa.Column("summary", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_runs_shop_id", "runs", ["shop_id"])
    op.create_index("uq_runs_live_per_shop_date", "runs", ["shop_id", "date"], unique=True,
                    sqlite_where=sa.text(LIVE_DAILY_RUN), postgresql_where=sa.text(LIVE_DAILY_RUN))
    op.create_table(
        "shop_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", String(), nullable=False),
        sa.Column("shop_id", String(), nullable=False),
        sa.Column("label", String(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_shop_tokens_shop_id", "shop_tokens", ["shop_id"])
    op.create_index("ix_shop_tokens_token_hash", "shop_tokens", ["token_hash"], unique=True)
    op.create_table(
        "proposals",
        sa.Column("id", String(), nullable=False),
        sa.Column("run_id", String(), nullable=False),
        sa.Column("shop_id", String(), nullable=False),
        sa.Column("kind", String(), nullable=False),
        sa.Column("target", String(), nullable=False),
        sa.Column("action", sa.JSON(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("expected_effect", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("proposed_by", String(), nullable=False),
        sa.Column("state", String(), nullable=False),
        sa.Column("decision", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("expires_at", UTC_TIME, nullable=True),
        sa.Column("approved_by", String(), nullable=True),
        sa.Column("result", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("idempotency_key", String(), nullable=True),
        sa.Column("replaces", String(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["replaces"], ["proposals.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_proposals_idempotency_key", "proposals", ["idempotency_key"])
    op.create_index("ix_proposals_run_id", "proposals", ["run_id"])
    op.create_index("ix_proposals_shop_state", "proposals", ["shop_id", "state"])
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", String(), nullable=False),
        sa.Column("run_id", String(), nullable=True),
        sa.Column("date", String(), nullable=False),
        sa.Column("locale", String(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "date", "locale", name="uq_reports_shop_date_locale"),
    )
    op.create_index("ix_reports_shop_id", "reports", ["shop_id"])


def downgrade() -> None:
    for table in ("reports", "proposals", "shop_tokens", "runs", "policy_versions", "planner_memory",
                  "audit_events", "shops"):
        op.drop_table(table)  # and its indexes
