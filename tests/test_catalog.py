"""Every documented Chat-API function and event is accounted for, and docs/flows.md is current."""

from __future__ import annotations

from pathlib import Path

from simulator.catalog import event_rows, function_rows, render_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_every_documented_function_has_a_status() -> None:
    missing = [row.name for row in function_rows() if row.status == "MISSING"]
    assert missing == []


def test_every_documented_event_has_a_status() -> None:
    missing = [row.name for row in event_rows() if row.status == "MISSING"]
    assert missing == []


def test_the_catalogue_names_real_client_methods() -> None:
    from simulator.client import Client

    for row in function_rows():
        if row.how.startswith("`Client."):
            method = row.how.removeprefix("`Client.").split("(")[0]
            assert callable(getattr(Client, method)), row


def test_docs_flows_md_is_generated_from_the_code() -> None:
    committed = (ROOT / "docs" / "flows.md").read_text("utf-8")
    assert committed == render_markdown(), "run: simulator routes --markdown > docs/flows.md"
