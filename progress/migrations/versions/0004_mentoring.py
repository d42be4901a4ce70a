"""Mentoring: plan and check-in settings, goals, portfolio projects, certifications, checklist ticks, topics
marked done.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _member() -> sa.Column:
    return sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "mentoring_profiles",
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("plan_hours", sa.Integer(), nullable=True),
        sa.Column("checkins_enabled", sa.Boolean(), nullable=False),
        sa.Column("checkin_day", sa.String(3), nullable=False),
        sa.Column("checkin_time", sa.String(5), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), primary_key=True),
        _member(),
        sa.Column("horizon", sa.String(3), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("member_id", "horizon", name="uq_goals_member_horizon"),
    )
    op.create_table(
        "project_progress",
        sa.Column("id", sa.Integer(), primary_key=True),
        _member(),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("url", sa.String(500), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("member_id", "project_id", name="uq_project_progress_member_project"),
    )
    op.create_table(
        "cert_progress",
        sa.Column("id", sa.Integer(), primary_key=True),
        _member(),
        sa.Column("cert_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("member_id", "cert_id", name="uq_cert_progress_member_cert"),
    )
    op.create_table(
        "checklist_ticks",
        sa.Column("id", sa.Integer(), primary_key=True),
        _member(),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("member_id", "item_id", name="uq_checklist_ticks_member_item"),
    )
    op.create_table(
        "topics_done",
        sa.Column("id", sa.Integer(), primary_key=True),
        _member(),
        sa.Column("topic_id", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("member_id", "topic_id", name="uq_topics_done_member_topic"),
    )
    for table in ("goals", "project_progress", "cert_progress", "checklist_ticks", "topics_done"):
        op.create_index(f"ix_{table}_member_id", table, ["member_id"])


def downgrade() -> None:
    for table in ("topics_done", "checklist_ticks", "cert_progress", "project_progress", "goals",
                  "mentoring_profiles"):
        op.drop_table(table)
