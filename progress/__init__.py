"""Progress: members, levels, quizzes (FSRS), placement, habits, streaks, XP and the leaderboard.

SQLAlchemy 2 models (`models`), all SQL in `repository`, Alembic migrations in `migrations/`, the rules in
`service`. No Slack here: the bot and the terminal both call `Progress`.
"""
