"""Baselines cache (eager / torch.compile timings per task, GPU and torch version) and a
(run, task, round) index for resuming runs, which supersedes the run-only index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Append-only: never edit a released revision; add a new one.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "baselines",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("gpu_name", sa.String(255), nullable=False),
        sa.Column("torch_version", sa.String(64), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("eager_timing", JSON, nullable=True),
        sa.Column("compiled_timing", JSON, nullable=True),
        sa.Column("measured_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_baselines_task_id_tasks"),
        sa.PrimaryKeyConstraint("task_id", "gpu_name", "torch_version", name="pk_baselines"),
    )
    op.create_index("ix_attempts_run_task_round", "attempts", ["run_id", "task_id", "round"])
    op.drop_index("ix_attempts_run", table_name="attempts")


def downgrade() -> None:
    op.create_index("ix_attempts_run", "attempts", ["run_id"])
    op.drop_index("ix_attempts_run_task_round", table_name="attempts")
    op.drop_table("baselines")
