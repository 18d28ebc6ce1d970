"""``simulator explore`` on the command line: exit codes, the summary, the written file."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.cli import main
from simulator.cli.explore import parse_budget
from simulator.errors import FatalError

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_a_passing_exploration_exits_0_with_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(SCENARIOS)
    code = main(["explore", "--bot", "bots.echo:run", "--runs", "8", "-o", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 0, out
    assert "explored 8 runs" in out.out and "with --seed 0" in out.out
    assert "no property failed" in out.out
    assert "stanza shapes" in out.err  # the progress line
    assert list(tmp_path.iterdir()) == []


def test_a_failing_invariant_exits_1_and_writes_a_scenario_that_fails_with_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(SCENARIOS)
    never = tmp_path / "never.yaml"
    never.write_text("invariants:\n  - {to: alice, message: {from: bot}}\n", "utf-8")
    out_dir = tmp_path / "found"
    args = ["explore", "--bot", "bots.echo:run", "--seed", "3", "--runs", "50"]
    code = main([*args, "--invariants", str(never), "-o", str(out_dir)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED" in out and "--seed 3" in out
    written = out_dir / "explore-seed-3.yaml"
    assert written.is_file()
    assert main(["validate", str(written)]) == 0
    capsys.readouterr()
    assert main(["run", str(written)]) == 1
    assert "must not come" in capsys.readouterr().out


def test_a_bot_account_missing_from_the_world_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(SCENARIOS)
    world = SCENARIOS / "worlds" / "team.world.yaml"
    code = main(["explore", "--bot", "bots.echo:run", "--world", str(world), "--runs", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "no account 'mybot'" in err and "--account" in err


def test_a_world_file_and_its_bot_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(SCENARIOS)
    world = SCENARIOS / "worlds" / "team.world.yaml"
    args = ["explore", "--bot", "bots.echo:run", "--world", str(world), "--account", "moderator"]
    assert main([*args, "--runs", "6", "-o", str(tmp_path)]) == 0, capsys.readouterr()


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("2m", 120), ("1h", 3600), ("1m30s", 90), ("45", 45)]
)
def test_budgets(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "0s", "2x"])
def test_bad_budgets_are_one_sentence(text: str) -> None:
    with pytest.raises(FatalError, match="--budget"):
        parse_budget(text)
