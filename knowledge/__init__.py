"""The knowledge core: curriculum content and catalogue, embeddings, vector store, retrieval, answers.

Nothing here knows about Slack; callers get plain typed objects back.
"""

from importlib.resources import files
from pathlib import Path


def package_dir() -> Path:
    """The folder that holds the bundled content, catalogue and eval set."""
    return Path(str(files("knowledge")))


def content_dir() -> Path:
    return package_dir() / "content"
