"""simulator explore --faults: the runs draw the fault model's faults as ordinary steps,
the built-in properties hold for correct bots under them, and the bugs only faults show
are found, shrunk to a few steps and replayed red; and hang detection: a bot blocked in
its handler is found though the library answers its pings."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.client import Client
from simulator.explore import (
    FAULTS,
    Exploration,
    Run,
    Violation,
    engine,
    explore_bot,
    load_properties,
)
from simulator.explore.cast import load_world
from simulator.explore.engine import make_runner, scenario_of
from simulator.explore.generate import _WEIGHTED, Step, interpret, parse_faults
from simulator.explore.properties import BUILT_IN, check_all, parse_events
from simulator.scenario import InProcessBot, import_bot, run_file

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SEARCH = [SCENARIOS]


def _without_checks(steps: list[Step]) -> list[Step]:
    return [s for s in steps if "expect_none" not in s and "expect" not in s]


def _faults_in(steps: list[Step]) -> list[str]:
    names = []
    for step in steps:
        if "restart" in step:
            names.append("restart")
        elif "fault" in step:
            names.append(next(k for k in step["fault"] if k not in ("times", "for")))
    return names


@pytest.mark.parametrize(
    ("fault", "written"),
    [
        ("drop", "fault"),
        ("delay", "fault"),
        ("duplicate", "fault"),
        ("reorder", "fault"),
        ("disconnect", "fault"),
        ("stream-error", "fault"),
        ("restart", "restart"),
    ],
)
def test_each_fault_is_written_as_ordinary_steps(fault: str, written: str) -> None:
    cast = load_world(None, bot=None)
    fault_kind = len(_WEIGHTED)  # the kinds past the users' actions are faults
    steps = interpret(cast, [(fault_kind, [0] * 8, ["hi", "ho"])], faults=(fault,))
    assert written in steps[0] or written in steps[1], steps
    assert steps[-2:] == [{"server": {"ping": "bot"}}, {"wait": "2m"}]
    if fault in ("disconnect", "stream-error", "restart"):
        # the bot's session may end: a minute for it to come back, then started unless it runs
        assert steps[-4:-2] == [{"wait": "1m"}, {"login": "bot"}], steps
    # Without faults the same draw is a user's action.
    assert not _faults_in(interpret(cast, [(0, [0] * 8, ["hi", "ho"])]))


def test_explored_runs_with_every_fault_are_valid_and_pass_for_a_correct_bot() -> None:
    seen: list[list[Step]] = []

    def spy(run: Run) -> None:
        seen.append(run.steps)

    found = explore_bot(
        "bots.echo:run", search=SEARCH, seed=0, runs=60, properties=[spy], faults="all"
    )
    assert found.passed, found.summary()  # every run was a valid scenario, and passed
    kinds = Counter(name for steps in seen for name in _faults_in(steps))
    assert len(kinds) >= 4, kinds
    assert "--faults drop,delay,duplicate" in found.summary()
    seen.clear()
    assert explore_bot("bots.echo:run", search=SEARCH, seed=0, runs=30, properties=[spy]).passed
    assert not [name for steps in seen for name in _faults_in(steps)]


def test_a_selection_draws_only_those_faults() -> None:
    seen: list[list[Step]] = []

    def spy(run: Run) -> None:
        seen.append(run.steps)

    assert explore_bot(
        "bots.echo:run", search=SEARCH, seed=1, runs=60, properties=[spy], faults="duplicate"
    ).passed
    assert {name for steps in seen for name in _faults_in(steps)} == {"duplicate"}


def test_fault_names() -> None:
    assert parse_faults("all") == FAULTS
    assert parse_faults("duplicate, stream_error,duplicate") == ("duplicate", "stream-error")
    with pytest.raises(ValueError, match="'bogus' is not a fault to explore"):
        parse_faults("drop,bogus")


def _violations(bot: str, steps: list[Step]) -> tuple[list[str], list[str]]:
    """Run ``steps`` and check the built-in properties: what they find knowing the
    run's fault hits, and what they would find blind to them."""
    cast = load_world(None, bot=None)
    runner = InProcessBot(target=bot, function=import_bot(bot, search=SEARCH))
    with tempfile.TemporaryDirectory() as folder:
        result = make_runner(runner, Path(folder))(scenario_of(cast, steps))
    assert result.passed, result.report
    events, notes = parse_events(result.transcript, cast)
    run = Run(steps, events, cast, notes)
    assert run.faults, "the fault hit"
    blind = Run(steps, events, cast, [n for n in notes if "fault #" not in n[1]])
    assert not blind.faults
    return (
        [v.message for v in check_all(run, BUILT_IN)],
        [v.message for v in check_all(blind, BUILT_IN)],
    )


ALICE: list[Step] = [{"login": "alice"}]
SEND: Step = {"send": {"from": "alice", "to": "bot", "text": "hello"}}
PING: Step = {"server": {"ping": "bot"}}


@pytest.mark.parametrize(
    ("fault", "blind"),
    [
        ({"drop": "message to bot", "times": 1}, "never delivered"),
        ({"duplicate": "message to bot", "times": 1}, None),  # before the receipt: fine
        ({"drop": "receipt from bot", "times": 1}, "again after its receipt"),
        ({"delay": "message to bot", "seconds": "30s", "times": 1}, "never delivered"),
        ({"stream_error": "message to bot", "times": 1}, "closed the bot's stream"),
    ],
)
def test_what_a_fault_touched_breaks_no_built_in_property(fault: Step, blind: str | None) -> None:
    # A correct bot (it logs in again, answers a message once) under one fault: the
    # built-in properties hold; blind to the fault's hit they would not (a false red).
    steps = [*ALICE, {"fault": fault}, SEND, {"logout": "bot"}, {"login": "bot"}, PING]
    if "drop" in fault and fault["drop"] == "message to bot":
        steps = [*ALICE, {"fault": fault}, SEND, PING]
    if "delay" in fault:
        steps = [*ALICE, {"fault": fault}, SEND, PING]
    if "stream_error" in fault:
        steps = [*ALICE, {"fault": fault}, SEND, {"wait": "1m"}, {"login": "bot"}, PING]
    found, without = _violations("bots.resilient:run", steps)
    assert found == []
    if blind is not None:
        assert any(blind in message for message in without), without


def _explore_orders(seed: int, out: Path, **kwargs: object) -> Exploration:
    return explore_bot(
        "bots.orders:run",
        search=SEARCH,
        seed=seed,
        faults="all",
        properties=load_properties("bots.orders", search=SEARCH),
        out=out,
        **kwargs,  # type: ignore[arg-type]  # the rest of explore_bot's keywords
    )


def test_a_bot_that_answers_a_redelivered_message_again_is_found_with_faults(
    tmp_path: Path,
) -> None:
    found = _explore_orders(0, tmp_path)
    assert found.finding is not None and found.finding.violation is not None
    assert "no duplicate answers" in found.finding.violation.prop
    assert found.progress.first_failure is not None  # within the default budget
    steps = _without_checks(found.steps or [])
    assert len(steps) <= 5
    assert any("fault" in step or "restart" in step for step in steps)
    assert found.path is not None
    text = found.path.read_text("utf-8")
    assert "came to the bot again (the same id) and the bot answered it again" in text
    replay = run_file(found.path)
    assert not replay.passed
    assert "must not come" in replay.report and "faults of this run" in replay.report


def test_a_bot_that_remembers_the_ids_it_answered_passes_under_duplicates() -> None:
    props = load_properties("simulator.explore.library")
    found = explore_bot(
        "bots.resilient:run",
        search=SEARCH,
        seed=0,
        runs=150,
        faults="duplicate",
        properties=props,
    )
    assert found.passed, found.summary()


def test_a_bot_blocked_in_its_handler_is_found_though_it_answers_pings(tmp_path: Path) -> None:
    found = explore_bot("bots.concierge:run", search=SEARCH, seed=0, out=tmp_path)
    assert found.finding is not None
    assert found.finding.summary.startswith("the bot stopped handling events: stuck since")
    steps = found.steps or []
    assert len(steps) <= 5
    assert [s for s in steps if "send" in s and s["send"]["text"] == "help"]
    assert found.path is not None
    replay = run_file(found.path)
    assert not replay.passed
    assert "the bot stopped handling events" in replay.report


def test_the_cli_takes_faults_and_refuses_an_unknown_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(SCENARIOS)
    assert main(["explore", "--bot", "bots.echo:run", "--faults", "drop,bogus"]) == 2
    err = capsys.readouterr().err
    assert "'bogus' is not a fault to explore (all, or of: drop, delay" in err
    code = main(
        ["explore", "--bot", "bots.echo:run", "--runs", "10", "--faults", "-o", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "--faults drop,delay,duplicate,reorder,disconnect,stream-error,restart" in out


def test_the_summary_counts_routes_and_received_shapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(SCENARIOS)
    code = main(["explore", "--bot", "bots.echo:run", "--runs", "12", "-o", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0
    lines = captured.out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("routes the bot's")))
    hit = int(lines[start].split(": ")[1].split(" of ")[0])
    counted = lines[start + 1 : start + 1 + hit]
    assert [line.split()[0] for line in counted if line.split()[0] == "<message>"] == ["<message>"]
    assert all(int(line.split()[-1]) > 0 for line in counted)
    assert lines[start + 1 + hit].startswith("routes never hit: ")
    never = " ".join(lines[start + 2 + hit :])
    assert '<iq type="set" xmlns="w:g2"><create/>' in never  # the echo bot makes no group
    assert "stanza shapes the bot received: " in captured.out
    assert "<message from,notify,offline,type><body>" in captured.out
    assert "bot routes " in captured.err and "(<" in captured.err  # the progress line


def test_the_five_minute_properties_of_the_docs_load_and_work(
    tmp_path: Path,
) -> None:
    readme = (SCENARIOS / "README.md").read_text("utf-8")
    start = readme.index("```python\n# myprops.py\n") + len("```python\n")
    (tmp_path / "myprops.py").write_text(readme[start : readme.index("```", start)], "utf-8")
    props = load_properties("myprops", search=[tmp_path])
    assert [p.__name__ for p in props] == ["answers_questions", "never_first"]
    found = explore_bot("bots.echo:run", search=SEARCH, runs=30, properties=props[1:])
    assert found.passed, found.summary()
    # The echo bot answers at once, but not while it is logged out: the property says so.
    late = explore_bot("bots.echo:run", search=SEARCH, properties=props[:1])
    assert late.finding is not None and late.finding.violation is not None
    assert "got no answer" in late.finding.violation.message
    greeter = explore_bot(_greeter, runs=20, properties=props[1:])
    assert greeter.finding is not None and greeter.finding.violation is not None
    assert "before they wrote" in greeter.finding.violation.message


async def _greeter(client: Client) -> None:
    """Writes to Alice as soon as it is logged in."""
    await client.send_text("491110000001", "Hi Alice, anything new?")
    await client.wait_closed()


def test_a_spent_shrink_budget_is_not_a_flaky_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # Once the shrink budget is spent only the known failures fail again; Hypothesis must
    # see those as the same failure as the first (raised from one place), not as Flaky.
    monkeypatch.setattr(engine, "SHRINK_RUNS", 2)
    found = explore_bot("bots.echo:run", search=SEARCH, seed=0, runs=20, properties=[_any_text])
    assert found.finding is not None
    assert found.flaky == ""
    assert found.progress.first_failure is not None


def _any_text(run: Run) -> list[Violation]:
    return [Violation("a text reached the bot", e) for e in run.received("bot", "message")]
