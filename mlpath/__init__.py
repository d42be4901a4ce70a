"""mlpath: an AI/ML learning mentor grounded in the "Becoming an AI/ML Expert" learning path.

This package holds what ties the parts together: the one `Settings` class and the `mlpath` command line.
The core lives in `knowledge/` (content, retrieval, answers) and `ingest/` (turning files into chunks);
neither knows anything about Slack.
"""

__version__ = "0.1.0"
