"""Scenario files as pytest items: what is collected, how runs and failures are reported."""

from __future__ import annotations

import gc
from glob import escape

import pytest

from tests.plugin.conftest import BOTS, TCP_BOT, configure, scenario, write

pytest_plugins = ["pytester"]


def test_a_passing_scenario(project: pytest.Pytester) -> None:
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "simulator: 1 scenario file",
            "scenarios/echo.yaml::the echo bot answers PASSED*",
        ]
    )


def test_a_failing_scenario_shows_the_report_without_a_traceback(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("--simulator-bot", "mybot:shout")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ scenario: the echo bot answers _*",
            escape(
                "scenarios/echo.yaml:12: at steps[2]:"
                " the next <message> alice received does not match"
            ),
            "",
            "step:",
            "  - expect: {to: alice, message: {from: bot, body: hello}}",
            "",
            "  expected (alice receives) * the next <message> no step had matched"
            " (at +00:00:00.000)",
            "  <message * | <message",
            '    from="491119999999@s.whatsapp.net" |   from="491119999999@s.whatsapp.net"',
            "!   <body>hello</body> * !   <body>HELLO</body>",
            "  (rows marked ! differ)",
            "",
            'first difference: message/body: expected data "hello", got "HELLO"',
            "",
            "transcript up to the failure *",
            "  +00:00:00.000  -- the bot starts: mybot:shout",
            '  +00:00:00.000  alice --> tx  <message to="491119999999@s.whatsapp.net"*'
            "<body>hello</body></message>",
            '  +00:00:00.000  alice <-- rx  <message from="491119999999@s.whatsapp.net"*'
            "<body>HELLO</body></message>",
            "  +00:00:00.000  -- FAILED: the next <message> alice received does not match",
            "*= short test summary info =*",
            "FAILED scenarios/echo.yaml::the echo bot answers - scenarios/echo.yaml:12:*",
        ]
    )
    for frame in ("*Traceback*", "*runner.py*", "*pytest_plugin.py*", "E   *"):
        result.stdout.no_fnmatch_line(frame)


def test_a_crashing_bot_fails_the_step_with_the_bots_traceback(project: pytest.Pytester) -> None:
    result = project.runpytest("--simulator-bot", "mybot:crash")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            escape(
                "scenarios/echo.yaml:11: at steps[1]:"
                " the bot raised RuntimeError: the bot fell over"
            ),
            "",
            "step:",
            "  - send: {from: alice, to: bot, text: hello}",
            "",
            "bot traceback:",
            "Traceback (most recent call last):",
            "*mybot.py*, in crash",
            "RuntimeError: the bot fell over",
        ]
    )
    result.stdout.no_fnmatch_line("*pytest_plugin.py*")


BAD = """\
name: broken
world:
  accounts:
    - {phone: "491110000001", name: Alice}
    - {phone: "491119999999", name: Echo}
bot:
  account: echo
  python: mybot:nothere
steps:
  - login: alice
  - send: {from: zed, to: bot, text: hello}
  - expectt: {to: alice, message: {from: bot, body: hello}}
  - wait: forever
"""


def test_a_malformed_file_fails_its_item_with_every_problem(project: pytest.Pytester) -> None:
    write(project, "scenarios/bad.yaml", BAD)
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)  # the other scenario still ran
    # The list of step names after "the steps are: " grows with the registry: left out.
    lines = [line.partition("; the steps are: ")[0] for line in result.stdout.lines]
    start = lines.index("4 problems in this scenario file:")
    assert lines[start - 1 : start + 6] == [
        lines[start - 1],
        "4 problems in this scenario file:",
        "scenarios/bad.yaml:8: at bot.python: the bot module 'mybot' has no 'nothere'",
        "scenarios/bad.yaml:11: at steps[1].send.from: unknown user 'zed' (accounts: alice, bot)",
        "scenarios/bad.yaml:12: at steps[2]: unknown step 'expectt' (did you mean 'expect'?)",
        "scenarios/bad.yaml:13: at steps[3].wait: a duration is a number of seconds or a number"
        " with a unit: 500ms, 5s, 2m, 1h, 1d; got 'forever'",
        "=========================== short test summary info ============================",
    ]
    assert "scenario: broken" in lines[start - 1]
    result.stdout.fnmatch_lines(
        ["FAILED scenarios/bad.yaml::broken - 4 problems in this scenario file:"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_collection_names_the_items_without_loading_the_files(project: pytest.Pytester) -> None:
    write(project, "scenarios/bad.yaml", BAD)
    result = project.runpytest("--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["scenarios/bad.yaml::broken", "scenarios/echo.yaml::the echo*"])
    result.stdout.no_fnmatch_line("*problem*")


def test_a_scenario_loads_after_a_test_left_another_working_directory(
    project: pytest.Pytester,
) -> None:
    configure(project, 'testpaths = ["a", "scenarios"]\nsimulator_scenarios = ["scenarios"]')
    write(project, "scenarios/bad.yaml", BAD)
    # Collected and run before the scenarios: it leaves the process in another directory.
    write(project, "a/test_chdir.py", "import os\ndef test_away():\n    os.chdir('a')\n")
    result = project.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["scenarios/echo.yaml::the echo bot answers PASSED*"])
    result.stdout.fnmatch_lines(
        [escape("scenarios/bad.yaml:11: at steps[1].send.from: unknown user 'zed'") + "*"]
    )


def test_a_file_whose_name_needs_loading_lists_every_problem_at_collection(
    project: pytest.Pytester,
) -> None:
    write(project, "scenarios/bad.yaml", BAD.replace("name: broken", "name: 42"))
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    lines = [line.partition("; the steps are: ")[0] for line in result.stdout.lines]
    start = lines.index("5 problems in this scenario file:")
    assert lines[start + 1 : start + 3] == [
        'scenarios/bad.yaml:1: at name: expected text, got the number 42: quote it ("42")',
        "scenarios/bad.yaml:8: at bot.python: the bot module 'mybot' has no 'nothere'",
    ]
    assert "ERROR collecting scenarios/bad.yaml" in lines[start - 1]
    result.stdout.fnmatch_lines(
        ["ERROR scenarios/bad.yaml", "*Interrupted: 1 error during collection*"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_invalid_yaml_is_one_problem_with_its_line(project: pytest.Pytester) -> None:
    write(project, "scenarios/bad.yml", "name: [unclosed\nsteps: []\n")
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["1 problem in this scenario file:", "scenarios/bad.yml:2: invalid YAML: *"]
    )


def test_scenarios_run_without_pytest_trio(project: pytest.Pytester) -> None:
    configure(project, 'simulator_scenarios = ["scenarios"]', trio_mode=None)
    project.runpytest("-p", "no:trio").assert_outcomes(passed=1)
    project.runpytest("-p", "no:trio", "--simulator-bot", "mybot:shout").assert_outcomes(failed=1)


def test_k_selects_scenarios_by_name(project: pytest.Pytester) -> None:
    write(project, "scenarios/later.yaml", scenario("the echo bot answers later"))
    write(project, "scenarios/smoke/other.yaml", scenario("something else"))
    result = project.runpytest("-v", "-k", "echo and not later")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(["scenarios/echo.yaml::the echo bot answers PASSED*"])
    result = project.runpytest("-v", "-k", "smoke or later")
    result.assert_outcomes(passed=2, deselected=1)


def test_yaml_files_are_not_collected_unless_configured(pytester: pytest.Pytester) -> None:
    configure(pytester, "")
    write(pytester, "scenarios/echo.yaml", scenario())
    write(pytester, "config.yaml", "name: not a scenario\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.no_fnmatch_line("simulator: *")


def test_only_scenario_files_under_the_configured_paths(project: pytest.Pytester) -> None:
    write(project, "ci/workflow.yaml", "on: push\n")
    write(project, "scenarios/shared.world.yaml", "accounts: []\n")
    write(project, "scenarios/README.md", "# scenarios\n")
    project.makepyfile(test_unit="def test_unit():\n    pass\n")
    result = project.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["simulator: 1 scenario file"])


def test_globs_in_the_ini_option(pytester: pytest.Pytester) -> None:
    configure(pytester, 'simulator_scenarios = ["scenarios/smoke_*.yaml"]')
    write(pytester, "mybot.py", BOTS)
    write(pytester, "scenarios/smoke_echo.yaml", scenario("smoke", bot=None))
    write(pytester, "scenarios/full.yaml", "not: [a scenario\n")
    result = pytester.runpytest("-v", "--simulator-bot", "mybot:echo")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["scenarios/smoke_echo.yaml::smoke PASSED*"])
    result.stdout.no_fnmatch_line("*full.yaml*")


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        (
            'simulator_scenarios = ["nowhere"]',
            "ERROR: simulator_scenarios: */nowhere: no such file or directory",
        ),
        (
            'simulator_scenarios = ["scenarios/*.yml"]',
            "ERROR: simulator_scenarios: 'scenarios/*.yml' matches nothing in *",
        ),
        ('simulator_time_scale = "fast"', "ERROR: simulator_time_scale must be a number"),
        ('simulator_yield_limit = "soon"', "ERROR: simulator_yield_limit must be a number"),
        (
            'simulator_bot = "mybot:echo"\nsimulator_bot_command = "python bot.py"',
            "ERROR: the ini options simulator_bot and simulator_bot_command exclude each other",
        ),
    ],
)
def test_bad_configuration_is_a_usage_error(
    project: pytest.Pytester, ini: str, message: str
) -> None:
    configure(project, ini)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--simulator-bot", "mybot:nothere"],
            "ERROR: --simulator-bot: the bot module 'mybot' has no 'nothere'",
        ),
        (
            ["--simulator-bot", "nomodule:run"],
            "ERROR: --simulator-bot: cannot import the bot module 'nomodule'*",
        ),
        (
            ["--simulator-bot", "mybot:echo", "--simulator-bot-command", "python bot.py"],
            "ERROR: --simulator-bot and --simulator-bot-command exclude each other",
        ),
        (["--simulator-bot-command", " "], "ERROR: --simulator-bot-command is empty"),
        (
            ["--simulator-time-scale", "0"],
            "ERROR: --simulator-time-scale must be more than 0, not 0.0",
        ),
        (
            ["--simulator-yield-limit", "-1"],
            "ERROR: --simulator-yield-limit must be more than 0, not -1.0",
        ),
        (
            ["--simulator-scenarios", "nowhere.yaml"],
            "ERROR: --simulator-scenarios: */nowhere.yaml: no such file or directory",
        ),
    ],
)
def test_bad_options_are_usage_errors(
    project: pytest.Pytester, args: list[str], message: str
) -> None:
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_the_bot_option_replaces_the_files_bots(project: pytest.Pytester) -> None:
    write(project, "scenarios/nobot.yaml", scenario("no bot program", bot=None))
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["scenarios/nobot.yaml:6: at bot: the scenario names no bot program*"]
    )
    result = project.runpytest("-v", "--simulator-bot", "mybot:echo")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["simulator: 2 scenario files, bot under test from --simulator-bot"]
    )


def test_the_bot_from_the_ini_file(project: pytest.Pytester) -> None:
    configure(project, 'simulator_scenarios = ["scenarios"]\nsimulator_bot = "mybot:shout"')
    project.runpytest().assert_outcomes(failed=1)
    # The command line wins over the ini file.
    project.runpytest("--simulator-bot", "mybot:echo").assert_outcomes(passed=1)


def test_a_bot_command_that_exits_fails_with_its_output(project: pytest.Pytester) -> None:
    write(project, "tcpbot.py", TCP_BOT)
    result = project.runpytest("--simulator-bot-command", "python tcpbot.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "scenarios/echo.yaml:6: at bot: the bot process exited with code 2",
            "",
            "bot output:",
            "  cannot start: no configuration",
            "",
            "transcript up to the failure *",
            "  +00:00:00.* -- the bot starts: python tcpbot.py (pid *, server 127.0.0.1:*)",
            "*- Captured bot output call -*",
            "cannot start: no configuration",
        ]
    )


# -------------------------------------------------------------------- what runs


def test_bare_pytest_runs_the_tests_and_the_scenarios(project: pytest.Pytester) -> None:
    configure(project, 'testpaths = ["tests"]\nsimulator_scenarios = ["scenarios"]')
    write(project, "tests/test_unit.py", "def test_unit():\n    pass\n")
    result = project.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "tests/test_unit.py::test_unit PASSED*",
            "scenarios/echo.yaml::the echo bot answers PASSED*",
        ]
    )
    # Paths on the command line choose what runs.
    project.runpytest("tests").assert_outcomes(passed=1)
    result = project.runpytest("-v", "scenarios/echo.yaml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["scenarios/echo.yaml::the echo bot answers PASSED*"])


def test_scenarios_under_testpaths_run_once(project: pytest.Pytester) -> None:
    configure(
        project, 'testpaths = ["."]\nsimulator_scenarios = ["scenarios", "scenarios/echo.yaml"]'
    )
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1)


def test_the_scenarios_option_runs_its_paths(project: pytest.Pytester) -> None:
    configure(project, 'testpaths = ["tests"]')
    write(project, "tests/test_unit.py", "def test_unit():\n    pass\n")
    write(project, "more/extra.yaml", scenario("an extra scenario"))
    # Alone, it runs the scenarios it names and nothing else.
    result = project.runpytest("-v", "--simulator-scenarios", "more")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["more/extra.yaml::an extra scenario PASSED*"])
    # With paths, it runs those too.
    result = project.runpytest("tests", "--simulator-scenarios", "more/*.yaml")
    result.assert_outcomes(passed=2)


def test_markers_are_registered_and_select_scenarios(project: pytest.Pytester) -> None:
    project.makepyfile(test_unit="def test_unit():\n    pass\n")
    result = project.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.simulator: drives the simulator's fake WhatsApp*"])
    result = project.runpytest("-v", "-m", "simulator")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["scenarios/echo.yaml::the echo bot answers PASSED*"])
    project.runpytest("-m", "not simulator").assert_outcomes(passed=1, deselected=1)


def test_junit_xml_has_the_report(project: pytest.Pytester) -> None:
    project.runpytest("--simulator-bot", "mybot:shout", "--junitxml", "out.xml")
    xml = (project.path / "out.xml").read_text("utf-8")
    assert 'classname="scenarios.echo.yaml" name="the echo bot answers"' in xml
    assert "first difference: message/body: expected data" in xml


def test_collected_plans_are_frozen_for_the_runs_and_unfrozen_at_the_end(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        "import gc\ndef pytest_runtest_setup(item):\n    assert gc.get_freeze_count() > 0\n"
    )
    project.runpytest().assert_outcomes(passed=1)
    assert gc.get_freeze_count() == 0  # nothing left out of the collector's sight


def test_a_session_without_scenario_files_freezes_nothing(pytester: pytest.Pytester) -> None:
    gc.unfreeze()  # this session (with the project's scenario files) may have frozen some
    pytester.makeconftest(
        "import gc\ndef pytest_runtest_setup(item):\n    assert gc.get_freeze_count() == 0\n"
    )
    pytester.makepyfile(test_unit="def test_unit():\n    pass\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_bot_that_never_yields_fails_its_scenario_after_the_yield_limit(
    project: pytest.Pytester,
) -> None:
    configure(project, 'simulator_scenarios = ["scenarios"]\nsimulator_yield_limit = "0.5"')
    result = project.runpytest("--simulator-bot", "mybot:spin")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*"
            + escape(
                "at steps[1]: the bot has run for 0.5 s of wall time without yielding to the"
                " event loop (a loop that never awaits?) at "
            )
            + "*mybot.py:*",
        ]
    )
