"""Initial schema: runs, tasks, attempts, llm_calls, metrics, best.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Append-only: never edit a released revision; add a new one.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("coder_model", sa.String(255), nullable=False),
        sa.Column("judge_model", sa.String(255), nullable=False),
        sa.Column("gpu_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.UniqueConstraint("key", name="uq_tasks_key"),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("candidate_index", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("parent_attempt_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("verdict", JSON, nullable=False),
        sa.Column("profile", JSON, nullable=True),
        sa.Column("speedup_vs_eager", sa.Float(), nullable=True),
        sa.Column("speedup_vs_compiled", sa.Float(), nullable=True),
        sa.Column("candidate_median_ms", sa.Float(), nullable=True),
        sa.Column("gpu_name", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_attempts_run_id_runs"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_attempts_task_id_tasks"),
        sa.ForeignKeyConstraint(
            ["parent_attempt_id"], ["attempts.id"], name="fk_attempts_parent_attempt_id_attempts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
    )
    op.create_index(
        "ix_attempts_task_gpu_status_median",
        "attempts",
        ["task_id", "gpu_name", "status", "candidate_median_ms"],
    )
    op.create_index("ix_attempts_run", "attempts", ["run_id"])
    op.create_table(
        "llm_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_llm_calls_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_llm_calls"),
    )
    op.create_index("ix_llm_calls_run", "llm_calls", ["run_id"])
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("kernel", sa.String(255), nullable=True),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], name="fk_metrics_attempt_id_attempts"),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
    )
    op.create_index("ix_metrics_attempt", "metrics", ["attempt_id"])
    op.create_table(
        "best",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("gpu_name", sa.String(255), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("candidate_median_ms", sa.Float(), nullable=False),
        sa.Column("speedup_vs_eager", sa.Float(), nullable=True),
        sa.Column("speedup_vs_compiled", sa.Float(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_best_task_id_tasks"),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], name="fk_best_attempt_id_attempts"),
        sa.PrimaryKeyConstraint("task_id", "gpu_name", name="pk_best"),
    )
    op.create_index("ix_best_gpu", "best", ["gpu_name"])


def downgrade() -> None:
    for table in ("best", "metrics", "llm_calls", "attempts", "tasks", "runs"):
        op.drop_table(table)
