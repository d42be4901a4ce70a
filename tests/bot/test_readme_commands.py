"""The README's `/mlpath` table lists exactly the subcommands the bot's own help lists (asked for through the
real Bolt app behind its HTTP server, as an admin, so the admin commands are included)."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest

from tests.readme_tables import names_in, table_after

pytestmark = [pytest.mark.model, pytest.mark.server]


def texts(value: Any) -> list[str]:
    """Every "text" string in an ack body (its fallback text and its blocks)."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in ([v] if k == "text" and isinstance(v, str) else texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


def test_the_slack_table_is_the_bots_help(bot):
    status, body = bot(admin_user_ids="UADMIN").command("help", user="UADMIN")
    assert status == 200
    # every code span on the help's /mlpath lines names a subcommand: "`/mlpath join` / `leave`"
    lines = [line for text in texts(json.loads(body)) for line in html.unescape(text).splitlines()]
    in_help = {name for line in lines if "/mlpath" in line for name in names_in(line, "/mlpath ")}
    assert {"ask", "help", "ingest"} <= in_help  # the help was read, admin commands included
    listed = [name for cell in table_after("| `/mlpath …`") for name in names_in(cell)]
    assert sorted(listed) == sorted(set(listed)), "a subcommand is listed twice in the README"
    assert set(listed) == in_help, (
        f"missing from the README: {sorted(in_help - set(listed))}; not in the help: {sorted(set(listed) - in_help)}")
