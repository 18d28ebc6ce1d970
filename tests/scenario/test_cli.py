"""The scenario commands: ``simulator run``, ``validate`` and ``schema``."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.cli.run import keyword_matcher, parse_shard
from simulator.cli.schema import schema_text
from simulator.errors import FatalError
from simulator.scenario import collect_paths
from tests.scenario.conftest import EXAMPLES, FILES, HERE, WriteScenario

EXAMPLE_FILES = collect_paths([EXAMPLES])

ECHO_STEPS = """
- login: alice
- send: {from: alice, to: bot, text: hello}
- expect: {to: alice, message: {from: bot, body: hello}}
"""


def lines(text: str) -> list[str]:
    """Output lines with wall times made stable."""
    return re.sub(r"wall \d+\.\d\ds|in \d+\.\d\ds", "wall Ns", text).splitlines()


def test_the_committed_schema_is_up_to_date() -> None:
    committed = (EXAMPLES / "scenario.schema.json").read_text("utf-8")
    assert committed == schema_text(), (
        "regenerate it: simulator schema -o scenarios/scenario.schema.json"
    )


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Scenario"
    assert main(["schema", "-o", str(tmp_path / "s.json")]) == 0
    assert (tmp_path / "s.json").read_text("utf-8") == schema_text()
    assert main(["schema", "-o", str(tmp_path / "no" / "s.json")]) == 1
    assert capsys.readouterr().err.startswith("error: cannot write ")


def test_validate_lists_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FILES / "bad.yaml"), str(EXAMPLES)]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 14
    assert out.splitlines()[0].startswith(f"{FILES / 'bad.yaml'}:8: at bot.python: cannot import")
    assert err == f"1 of {len(EXAMPLE_FILES) + 1} scenario files have problems\n"


def test_validate_good_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES)]) == 0
    assert capsys.readouterr().out == f"{len(EXAMPLE_FILES)} scenario files valid\n"


def test_validate_bad_paths(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope'}: no such file or directory\n"
    assert main(["validate", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"error: no scenario files (*.yaml, *.yml) in {tmp_path}\n"


def test_run_passing_scenarios(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    assert main(["run", str(EXAMPLES), "--junit", str(junit)]) == 0
    assert lines(capsys.readouterr().out) == [
        f"PASS  {EXAMPLES / 'echo.yaml'}  the echo bot answers with the same text  (virtual 1m,"
        " wall Ns)",
        f"PASS  {EXAMPLES / 'echo_next_day.yaml'}  the echo bot still answers a day later"
        "  (virtual 1d, wall Ns)",
        f"PASS  {EXAMPLES / 'fault_duplicate.yaml'}  the bot answers a duplicated message once"
        "  (virtual 1m, wall Ns)",
        f"PASS  {EXAMPLES / 'fault_restart.yaml'}  the bot comes back after a server restart"
        "  (virtual 1m, wall Ns)",
        f"PASS  {EXAMPLES / 'fault_stream_error.yaml'}  the bot logs in again after a stream"
        " error  (virtual 1s, wall Ns)",
        f"PASS  {EXAMPLES / 'fault_throttle.yaml'}  the bot waits out a throttled contact sync"
        "  (virtual 1m, wall Ns)",
        f"PASS  {EXAMPLES / 'media.yaml'}  the media bot checks uploaded images and sends one"
        " back  (virtual 0s, wall Ns)",
        f"PASS  {EXAMPLES / 'moderator.yaml'}  the moderator bot removes a spammer and promotes"
        " on request  (virtual 1m, wall Ns)",
        f"PASS  {EXAMPLES / 'offline_receipts.yaml'}  messages wait for an offline bot and the"
        " receipts find their way back  (virtual 1h10m, wall Ns)",
        f"PASS  {EXAMPLES / 'presence_last_seen.yaml'}  the last-seen bot follows presence and"
        " respects privacy  (virtual 2h30m, wall Ns)",
        f"PASS  {EXAMPLES / 'registration.yaml'}  a new number registers, logs in and is welcomed"
        " by the bot  (virtual 1m5s, wall Ns)",
        f"PASS  {EXAMPLES / 'reminder.yaml'}  the reminder bot reminds at the right virtual time"
        "  (virtual 1d3h29m, wall Ns)",
        "",
        "12 passed wall Ns (virtual time 2d7h15m6s)",
    ]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("12", "0")


def test_run_a_failing_scenario(capsys: pytest.CaptureFixture[str], write: WriteScenario) -> None:
    path = write(ECHO_STEPS, bot="tests.scenario.bots.broken:shouting")
    assert main(["run", str(path)]) == 1
    out = lines(capsys.readouterr().out)
    assert out[:3] == [
        f"FAIL  {path}  test scenario  (virtual 0s, wall Ns)",
        "      the next <message> alice received does not match",
        "",
    ]
    assert out[3] == f"{'=' * 30} {path}: test scenario {'=' * 30}"
    assert (
        out[4] == f"FAILED {path}:13: at steps[2]: the next <message> alice received does not match"
    )
    assert out[-2:] == ["", "0 passed, 1 failed wall Ns (virtual time 0s)"]


def test_run_checks_every_file_before_running(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(EXAMPLES), str(FILES / "bad.yaml")]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 14
    assert "PASS" not in out
    assert err == "error: 14 problems in the scenario files; nothing ran\n"


def test_run_with_another_bot(capsys: pytest.CaptureFixture[str], write: WriteScenario) -> None:
    path = write(ECHO_STEPS, bot="tests.scenario.bots.broken:shouting")
    assert main(["run", str(path), "--bot", "scenarios.bots.echo:run"]) == 0
    assert main(["run", str(path), "--bot", "scenarios.bots.nothing:run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --bot: cannot import the bot module 'scenarios.bots.nothing'")


@pytest.mark.slow
def test_run_with_a_bot_command(capsys: pytest.CaptureFixture[str], write: WriteScenario) -> None:
    path = write(ECHO_STEPS + "- wait: 1h\n", bot="tests.scenario.bots.broken:shouting")
    command = f"{sys.executable} {HERE / 'bots' / 'tcp_echo.py'}"
    assert main(["run", str(path), "--bot-command", command, "--time-scale", "0.0001"]) == 0
    assert capsys.readouterr().out.startswith(f"PASS  {path}")


def test_run_selects_with_k_and_shard(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(EXAMPLES), "-k", "next and day"]) == 0
    assert [
        line.split("  ")[1] for line in lines(capsys.readouterr().out) if line.startswith("PASS")
    ] == [str(EXAMPLES / "echo_next_day.yaml")]
    assert main(["run", str(EXAMPLES), "--shard", "1/2"]) == 0
    assert lines(capsys.readouterr().out)[0].startswith(f"PASS  {EXAMPLES / 'echo.yaml'}")
    past_the_end = len(EXAMPLE_FILES) + 1
    assert main(["run", str(EXAMPLES), "--shard", f"{past_the_end}/{past_the_end}"]) == 0
    assert capsys.readouterr().out.startswith("no scenarios to run in this shard\n")
    assert main(["run", str(EXAMPLES), "-k", "nothing-like-this"]) == 1
    assert capsys.readouterr().err == "error: no scenario matches -k 'nothing-like-this'\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shard", "2"], "error: --shard is I/N, like 2/4, not '2'"),
        (["--shard", "3/2"], "error: --shard 3/2: I must be from 1 to N"),
        (["-k", "echo and"], "error: -k 'echo and': the expression ends too early"),
        (["-k", "(echo"], "error: -k '(echo': a '(' is not closed"),
        (["--time-scale", "0"], "error: --time-scale must be more than 0, not 0.0"),
        (["--bot-command", "'unclosed"], "error: --bot-command: No closing quotation"),
    ],
)
def test_run_bad_options(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(["run", str(EXAMPLES), *argv]) == 1
    assert capsys.readouterr().err == message + "\n"


def test_run_bot_options_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--bot", "a:b", "--bot-command", "x"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_keyword_matcher() -> None:
    match = keyword_matcher("echo and not (day or night)")
    assert match("scenarios/echo.yaml the echo bot")
    assert not match("scenarios/echo_next_day.yaml")
    assert keyword_matcher("ECHO")("an echo")
    assert keyword_matcher("a or b")("b")
    with pytest.raises(FatalError, match="unexpected 'or'"):
        keyword_matcher("or a")


def test_parse_shard() -> None:
    assert parse_shard("2/4") == (2, 4)
    assert parse_shard(" 1 / 1 ") == (1, 1)


def test_run_help_keeps_its_examples_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    import simulator.cli.run
    from simulator.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    out = capsys.readouterr().out
    examples = (simulator.cli.run.__doc__ or "").split("\n\n")[1].strip("\n")
    assert examples.count("\n") >= 4
    assert examples in out  # not reflowed into one paragraph


def test_every_command_keeps_its_description_as_written() -> None:
    import argparse

    from simulator.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        assert sub.formatter_class is argparse.RawDescriptionHelpFormatter, name
