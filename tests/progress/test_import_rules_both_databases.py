"""Import rules are equal on SQLite and PostgreSQL (issue 27, item 5): a value PostgreSQL would refuse (a NUL in
text, an integer beyond its column) and negative XP are refused by validation on both, with the row named, and
nothing is written — so a file imports into either database or into neither."""

from __future__ import annotations

import pytest

from errors import UserError
from progress.transfer import export_data, import_data
from tests.progress.test_import_validation import T0, export_with

REFUSED = [
    ("xp_events", {"amount": 10**12}, r"^xp_events\[0\]: amount must be a 32-bit integer, got '1000000000000'$"),
    ("xp_events", {"amount": 2**31}, r"^xp_events\[0\]: amount must be a 32-bit integer"),
    ("xp_events", {"amount": -5}, r"^xp_events\[0\]: amount must be 0 or more \(the app never takes XP away\)"),
    ("members", {"display_name": "Ann\x00"}, r"^members\[0\]: display_name contains a NUL character"),
    ("xp_events", {"ref": "tok\x00en"}, r"^xp_events\[0\]: ref contains a NUL character"),
    ("cards", {"reviews": -(2**31) - 1}, r"^cards\[0\]: reviews must be a 32-bit integer"),
]


@pytest.mark.parametrize("table, change, message", REFUSED,
                         ids=["xp-1e12", "xp-2^31", "xp-negative", "nul-name", "nul-ref", "reviews-low"])
def test_a_value_postgresql_refuses_is_refused_on_both_databases_naming_the_row(progress, table, change, message):
    data = export_with(progress, table, **change)
    # into a database that holds none of it: without the rule, SQLite would store the row
    data["members"][0]["user_id"] = "UNEW"
    for rows in data.values():
        for row in rows if isinstance(rows, list) else []:
            if row.get("member") == ["T1", "UANN"]:
                row["member"] = ["T1", "UNEW"]
    before = export_data(progress.db, now=T0)
    with pytest.raises(UserError, match=message):
        import_data(progress.db, data)
    assert export_data(progress.db, now=T0) == before, "nothing was written"


def test_the_largest_values_the_columns_hold_still_import(progress):
    data = export_with(progress, "xp_events", amount=2**31 - 1)
    data["members"][0]["user_id"] = "UBIG"
    for rows in data.values():
        for row in rows if isinstance(rows, list) else []:
            if row.get("member") == ["T1", "UANN"]:
                row["member"] = ["T1", "UBIG"]
    report = import_data(progress.db, data)
    assert report["xp_events"]["added"] >= 1
    amounts = [e["amount"] for e in export_data(progress.db)["xp_events"] if e["member"] == ["T1", "UBIG"]]
    assert 2**31 - 1 in amounts
