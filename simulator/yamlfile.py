"""YAML files with line numbers, validated by pydantic, every problem reported at once.

ruamel.yaml keeps the position of every mapping key and sequence item; pydantic reports
each error with a location path (``("steps", 3, "expect", "body")``). This module joins
the two: :func:`load_model` returns the validated model or raises
:class:`~simulator.errors.ScenarioSyntaxError` listing *every* error as
``file:line: at steps[3].expect.body: <message>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import pydantic
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from simulator.errors import ScenarioSyntaxError

__all__ = ["format_loc", "line_of", "load_model", "load_yaml"]

M = TypeVar("M", bound=pydantic.BaseModel)


def load_yaml(text: str, path: str) -> Any:
    """Parse YAML keeping positions; a syntax error becomes a one-line located problem."""
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioSyntaxError([f"{path}:{line}: {problem}"]) from exc


def line_of(data: Any, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the item at ``loc`` in data loaded by :func:`load_yaml`."""
    line: int | None = None
    node = data
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            # pydantic adds union tags and model names to locations; skip what is not data.
            continue
    if line is None and isinstance(data, CommentedMap | CommentedSeq):
        line = data.lc.line + 1
    return line


def format_loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _plain(data: Any) -> Any:
    """ruamel's containers as plain dicts and lists (pydantic validates those best)."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def load_model(model: type[M], path: Path | str, *, text: str | None = None) -> M:
    """Load a YAML file into ``model``; raise with every problem and its line."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ScenarioSyntaxError([f"{path}: cannot read: {exc.strerror}"]) from exc
    data = load_yaml(text, str(path))
    try:
        return model.model_validate(_plain(data), context={"path": str(path)})
    except pydantic.ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = error["loc"]
            line = line_of(data, loc)
            where = f"{path}:{line}" if line is not None else str(path)
            at = f" at {format_loc(loc)}" if loc else ""
            problems.append(f"{where}:{at}: {error['msg']}")
        raise ScenarioSyntaxError(problems) from exc
