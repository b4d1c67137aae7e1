"""llm_calls.finish_reason: why the endpoint stopped ('stop', 'length' ...), so a reply cut off at the
output cap reads as such in the store.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Append-only: never edit a released revision; add a new one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(sa.Column("finish_reason", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("finish_reason")
