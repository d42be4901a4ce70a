"""Start-up errors never echo credentials, and the one input cleaning (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlpath.inputs import clean_text, clean_tree
from tests.conftest import free_port


def mlpath(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MLPATH_", "CHROMA_", "SLACK_"))}
    exe = Path(sys.executable).parent / "mlpath"
    return subprocess.run([str(exe), *args], env={**base, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.subprocess
def test_start_up_errors_name_the_variable_but_not_the_credentials(tmp_path):
    port = free_port()  # nothing listens there
    done = mlpath("search", "pca", MLPATH_DATA_DIR=str(tmp_path), CHROMA_URL=f"http://admin:hunter2pw@127.0.0.1:{port}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"mlpath: error: cannot reach the Chroma server at CHROMA_URL=http://admin:[redacted]@127.0.0.1:{port}")
    assert "hunter2pw" not in done.stderr
    done = mlpath("db", "upgrade", MLPATH_DATA_DIR=str(tmp_path), DATABASE_URL="postgresql+psycopg://app:hunter2pw@/x?port=bad",
                  OPENAI_API_KEY="sk-proj-abcdefghijklmnopqrstuvwx")
    assert done.returncode != 0 and "hunter2pw" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("raw, clean", [
    ("what is PCA\x00?", "what is PCA?"),
    ("tab\tnew\nline\r ok", "tab\tnew\nline\r ok"),
    ("bell\x07 del\x7f c1\x85", "bell del c1"),
    ("half an emoji \ud83d", "half an emoji \ufffd"),
    ("a real emoji 😀, accents éß, 中文", "a real emoji 😀, accents éß, 中文"),
])
def test_clean_text_removes_control_characters_and_lone_surrogates_only(raw, clean):
    assert clean_text(raw) == clean


def test_clean_tree_cleans_every_string_of_a_payload():
    assert clean_tree({"text\x00": ["a\x00", {"b": "\udc80"}, 3, None, True]}) == {"text": ["a", {"b": "\ufffd"}, 3,
                                                                                            None, True]}
