"""Reminder settings on members, exactly-once claims, and the answer log in SQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("snoozed_until", sa.Date(), nullable=True))
        batch.add_column(sa.Column("unreachable", sa.String(32), nullable=True))
        batch.add_column(sa.Column("tz_checked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=True),
        sa.Column("local_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(64), nullable=True),
        sa.Column("ref", sa.String(64), nullable=True),
        sa.UniqueConstraint("kind", "key", name="uq_claims_kind_key"),
    )
    op.create_index("ix_claims_kind_local_date", "claims", ["kind", "local_date"])
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("surface", sa.String(16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("grounded", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("citations", sa.Text(), nullable=False),
        sa.Column("answerer", sa.String(80), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("feedback", sa.Integer(), nullable=True),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_answers_user_id", "answers", ["user_id"])
    op.create_index("ix_answers_created_at", "answers", ["created_at"])


def downgrade() -> None:
    op.drop_table("answers")
    op.drop_table("claims")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("tz_checked_at")
        batch.drop_column("unreachable")
        batch.drop_column("snoozed_until")
