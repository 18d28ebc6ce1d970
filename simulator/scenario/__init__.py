"""Scripted scenarios: YAML files that drive users against a bot and check what arrives.

    from simulator.scenario import load_scenario, run_scenario_sync

    result = run_scenario_sync(load_scenario("scenarios/echo.yaml"))
    assert result.passed, result.report

The pieces, in the order a run uses them:

* :func:`collect_paths` finds scenario files (``*.yaml``/``*.yml``, not ``*.world.yaml``);
* :func:`load_scenario` checks a file (raising :class:`~simulator.errors.ScenarioSyntaxError`
  with every problem at its line) and returns a :class:`Scenario` plan; :func:`check_file`
  returns the plan (or None) and the problems as :class:`Problem` values (file, line, step
  path, message); :func:`validate_files` returns the problems of many files;
* :func:`run_scenario` (async; under an autojump ``MockClock`` for virtual time) or
  :func:`run_scenario_sync` / :func:`run_file` (sync, the clock chosen for you) return a
  :class:`ScenarioResult`: ``passed``, ``report`` (the failure report), ``transcript``,
  timings; :func:`junit_xml` turns results into JUnit XML;
* :func:`scenario_json_schema` is the JSON Schema of the file format, that of
  :class:`ScenarioFile` (the pydantic model a file is validated with).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.scenario.document import ScenarioFile, json_schema
from simulator.scenario.loader import (
    check_file,
    collect_paths,
    import_bot,
    load_scenario,
    validate_files,
)
from simulator.scenario.plan import BotFunction, CommandBot, InProcessBot, Scenario
from simulator.scenario.report import Entry, Failure, ScenarioResult, junit_xml, render_transcript
from simulator.scenario.runner import BotOverride, run_scenario, run_scenario_sync
from simulator.yamlfile import Problem

__all__ = [
    "BotFunction",
    "BotOverride",
    "CommandBot",
    "Entry",
    "Failure",
    "InProcessBot",
    "Problem",
    "Scenario",
    "ScenarioFile",
    "ScenarioResult",
    "check_file",
    "collect_paths",
    "import_bot",
    "junit_xml",
    "load_scenario",
    "render_transcript",
    "run_file",
    "run_scenario",
    "run_scenario_sync",
    "scenario_json_schema",
    "validate_files",
]


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (what ``simulator schema`` prints)."""
    return json_schema()


def run_file(
    path: Path | str,
    *,
    bot_override: BotOverride | BotFunction | None = None,
    time_scale: float = 1.0,
) -> ScenarioResult:
    """Load and run one scenario file (sync).

    Raises:
        ScenarioSyntaxError: the file has problems (nothing ran).
    """
    return run_scenario_sync(
        load_scenario(Path(path)), bot_override=bot_override, time_scale=time_scale
    )
