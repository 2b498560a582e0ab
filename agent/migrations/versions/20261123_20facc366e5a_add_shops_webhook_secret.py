"""Add shops.webhook_secret, the key that signs webhook deliveries.

Revision ID: 20facc366e5a
Revises: 1216999ef181
Create Date: 2026-11-23 16:01:14.773221

Nullable: a shop made before signing has none, and its reports go out unsigned as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "20facc366e5a"
down_revision: str | Sequence[str] | None = "1216999ef181"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shops") as batch_op:
        batch_op.add_column(sa.Column("webhook_secret", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shops") as batch_op:
        batch_op.drop_column("webhook_secret")
