"""The README's first scenario works as the README says (so the README stays true)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from simulator.scenario import run_file

ROOT = Path(__file__).resolve().parent.parent


def _first_scenario(tmp_path: Path, *, expected_body: str | None = None) -> Path:
    text = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, re.S)
    bot = next(body for lang, body in blocks if lang == "python")
    scenario = next(body for lang, body in blocks if lang == "yaml")
    if expected_body is not None:
        scenario = scenario.replace('"hello, Alice!"', f'"{expected_body}"')
    (tmp_path / "bots").mkdir()
    (tmp_path / "bots" / "greeter.py").write_text(bot)
    shutil.copy(ROOT / "scenarios" / "scenario.schema.json", tmp_path)
    path = tmp_path / "greeter.yaml"
    path.write_text(scenario)
    return path


def test_the_readme_scenario_passes(tmp_path: Path) -> None:
    result = run_file(_first_scenario(tmp_path))
    assert result.passed, result.report
    assert result.virtual_seconds >= 8 * 3600


def test_the_readme_scenario_fails_as_described_when_the_expectation_is_wrong(
    tmp_path: Path,
) -> None:
    result = run_file(_first_scenario(tmp_path, expected_body="hi, Alice!"))
    assert not result.passed
    assert "greeter.yaml:13: at steps[2]" in result.report
    assert 'first difference: message/body: expected data "hi, Alice!", got "hello, Alice!"' in (
        result.report
    )
    assert "transcript up to the failure" in result.report
