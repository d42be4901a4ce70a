"""mlpath: an AI/ML learning mentor grounded in the "Becoming an AI/ML Expert" learning path.

This package is the shell that ties the parts together: the one `Settings` class, the `mlpath` command line,
logs, metrics and health checks. The core lives in `knowledge/` (content, retrieval, answers), `progress/`
(members, quizzes, habits, reminders) and `ingest/` (turning files into chunks); none of them knows Slack.
"""

__version__ = "0.1.0"
