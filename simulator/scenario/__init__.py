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

from typing import TYPE_CHECKING

from simulator.lazy import lazy_names

if TYPE_CHECKING:
    from simulator.scenario.document import ScenarioFile, scenario_json_schema
    from simulator.scenario.loader import check_file, import_bot, load_scenario, validate_files
    from simulator.scenario.paths import collect_paths
    from simulator.scenario.plan import BotFunction, CommandBot, InProcessBot, Scenario
    from simulator.scenario.report import (
        Entry,
        Failure,
        ScenarioResult,
        junit_xml,
        render_transcript,
    )
    from simulator.scenario.runner import BotOverride, run_file, run_scenario, run_scenario_sync
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


# The names load on first use: checking files (``simulator validate``, the pytest
# plugin's collection) does not import the runner, the server or the client, and
# ``simulator.scenario.paths``-style imports of one module do not import them all.
_LAZY = {
    "ScenarioFile": "simulator.scenario.document",
    "scenario_json_schema": "simulator.scenario.document",
    "check_file": "simulator.scenario.loader",
    "collect_paths": "simulator.scenario.paths",
    "import_bot": "simulator.scenario.loader",
    "load_scenario": "simulator.scenario.loader",
    "validate_files": "simulator.scenario.loader",
    "BotFunction": "simulator.scenario.plan",
    "CommandBot": "simulator.scenario.plan",
    "InProcessBot": "simulator.scenario.plan",
    "Scenario": "simulator.scenario.plan",
    "Entry": "simulator.scenario.report",
    "Failure": "simulator.scenario.report",
    "ScenarioResult": "simulator.scenario.report",
    "junit_xml": "simulator.scenario.report",
    "render_transcript": "simulator.scenario.report",
    "BotOverride": "simulator.scenario.runner",
    "run_scenario": "simulator.scenario.runner",
    "run_file": "simulator.scenario.runner",
    "run_scenario_sync": "simulator.scenario.runner",
    "Problem": "simulator.yamlfile",
}


__getattr__ = lazy_names(__name__, _LAZY)
