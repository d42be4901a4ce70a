"""The README is the front door: short, its quick start is what the Makefile does, and its command table
lists every `mlpath` subcommand exactly once (no stale rows, no duplicates). The Slack table is checked
against the bot's own help in tests/bot/test_readme_commands.py."""

from __future__ import annotations

import argparse
import re

from mlpath.cli import build_parser
from tests.readme_tables import README, names_in, table_after

ROOT = README.parent


def subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(action.choices)


def test_the_readme_is_short():
    assert len(README.read_text(encoding="utf-8").splitlines()) < 250


def test_the_quick_start_is_the_two_make_targets():
    text = README.read_text(encoding="utf-8")
    block = text.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in block.splitlines()] == [["make", "run"], ["make", "test"]]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run\b.*:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)


def test_the_cli_table_lists_every_subcommand_once():
    listed = [name for cell in table_after("The `mlpath` command") for name in names_in(cell, "mlpath ")]
    assert sorted(listed) == sorted(set(listed)), f"listed twice: {sorted({n for n in listed if listed.count(n) > 1})}"
    assert set(listed) == subcommands(), (
        f"missing from the README: {sorted(subcommands() - set(listed))}; not a command: {sorted(set(listed) - subcommands())}")


def test_the_full_cli_reference_lists_every_subcommand_once():
    cells = table_after("| command |", (ROOT / "docs" / "cli.md").read_text(encoding="utf-8"))
    listed = [name for cell in cells for name in names_in(cell, "mlpath ")]
    assert sorted(listed) == sorted(subcommands())


def test_the_front_door_shows_what_a_member_sees_before_the_commands():
    """A Slack exchange and a terminal chat come first; figures that depend on the machine and its load live in
    docs/bench.md, not in the README."""
    text = README.read_text(encoding="utf-8")
    seen, start = text.index("## What a member sees"), text.index("## Quick start")
    assert seen < start and text.index("/mlpath quiz", seen) < start and text.index("you ›", seen) < start
    assert "load average" not in text and "docs/bench.md" in text
