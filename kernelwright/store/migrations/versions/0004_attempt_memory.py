"""attempts.idea and attempts.analysis: what each attempt tried (the Judge's method, in a few words)
and the advice it followed, so later prompts show "idea -> result" and a resumed run remembers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Append-only: never edit a released revision; add a new one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("idea", sa.Text(), nullable=True))
        batch.add_column(sa.Column("analysis", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("analysis")
        batch.drop_column("idea")
