"""Buddies: members offer help on the topics they mastered (`members.buddy_opt_in`, off for everyone until they
say so) and the offers of an intro made to members who keep missing a topic (progress/buddies.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("buddy_opt_in", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "buddy_offers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token", sa.String(32), nullable=False, unique=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("buddy_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("topic", sa.String(80), nullable=False),
        sa.Column("offered_on", sa.Date(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("member_id", "topic", "offered_on", name="uq_buddy_offers_member_topic_day"),
    )
    op.create_index("ix_buddy_offers_member_id", "buddy_offers", ["member_id"])
    op.create_index("ix_buddy_offers_buddy_offered_at", "buddy_offers", ["buddy_id", "offered_at"])


def downgrade() -> None:
    op.drop_table("buddy_offers")
    op.drop_column("members", "buddy_opt_in")
