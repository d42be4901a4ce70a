"""Asked topics: a topic a member asked about comes back as a quick check (progress/asked.py), and the
member's switch for it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Existing members get `asked_reviews` on (the column's server default), as a new member does.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN with a constant default: SQLite and PostgreSQL both fill existing rows with it
    op.add_column("members", sa.Column("asked_reviews", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        "asked_topics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("topic", sa.String(80), nullable=False),
        sa.Column("answer_id", sa.String(32), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_on", sa.Date(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("token", sa.String(32), nullable=True),
        sa.UniqueConstraint("member_id", "topic", name="uq_asked_topics_member_topic"),
        sa.UniqueConstraint("member_id", "checked_on", name="uq_asked_topics_member_checked_on"),
    )
    op.create_index("ix_asked_topics_member_id", "asked_topics", ["member_id"])


def downgrade() -> None:
    op.drop_table("asked_topics")
    op.drop_column("members", "asked_reviews")
