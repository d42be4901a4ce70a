"""Hardening: one streak bonus per member and local day (a partial unique index), and repair of member
values that an unvalidated import could store.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Existing duplicates (two streak rows for one member and day, written by a race on PostgreSQL before this
index) are removed first, keeping the earliest; the leaderboard capped streak XP per day at 5 anyway, so no
ranking changes. Members whose level is not 1-4 (an import stored `99` or, on SQLite, `"abc"`) get level 1, and
a reminder time that is not HH:MM gets 09:00, the default — values the app itself can never write.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STREAK_ONLY = sa.text("kind = 'streak'")


def upgrade() -> None:
    op.execute("DELETE FROM xp_events WHERE kind = 'streak' AND id NOT IN ("
               "SELECT keep FROM (SELECT MIN(id) AS keep FROM xp_events WHERE kind = 'streak' "
               "GROUP BY member_id, local_date) AS firsts)")
    op.create_index("uq_xp_events_streak_day", "xp_events", ["member_id", "local_date"], unique=True,
                    sqlite_where=STREAK_ONLY, postgresql_where=STREAK_ONLY)
    op.execute("UPDATE members SET level = 1 WHERE level NOT IN (1, 2, 3, 4)")
    op.execute("UPDATE members SET nudge_time = '09:00' WHERE NOT ("
               "LENGTH(nudge_time) = 5 AND SUBSTR(nudge_time, 3, 1) = ':' "
               "AND SUBSTR(nudge_time, 1, 2) BETWEEN '00' AND '23' AND SUBSTR(nudge_time, 4, 2) BETWEEN '00' AND '59')")


def downgrade() -> None:
    op.drop_index("uq_xp_events_streak_day", table_name="xp_events")
