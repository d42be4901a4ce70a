"""Progress: members, levels, quizzes, habits, streaks and the leaderboard (SQLAlchemy, Alembic).

Reads the curriculum facts it needs from `knowledge.catalogue`; holds no Slack code. Built in the
progress-and-quizzes issue; nothing here yet.
"""
