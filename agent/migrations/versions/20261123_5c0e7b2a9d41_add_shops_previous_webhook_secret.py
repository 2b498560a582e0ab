"""Add shops.previous_webhook_secret and shops.previous_webhook_secret_until: after a rotation the old secret
signs beside the new one for a day, so a receiver being updated keeps verifying.

Revision ID: 5c0e7b2a9d41
Revises: 20facc366e5a
Create Date: 2026-11-23 18:40:00.000000

Nullable: a shop never rotated has no previous secret, and signs with its own only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "5c0e7b2a9d41"
down_revision: str | Sequence[str] | None = "20facc366e5a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shops") as batch_op:
        batch_op.add_column(sa.Column("previous_webhook_secret", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("previous_webhook_secret_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shops") as batch_op:
        batch_op.drop_column("previous_webhook_secret_until")
        batch_op.drop_column("previous_webhook_secret")
