"""Scenario data as YAML that reads like a hand-written file: one line per step."""

from __future__ import annotations

import io
import re
from typing import Any, Final

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

__all__ = ["dump_yaml"]

_PLAIN: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*( [A-Za-z0-9_]+)*")
_KEYWORDS: Final = frozenset({"yes", "no", "true", "false", "on", "off", "null", "y", "n", "~"})


def dump_yaml(data: dict[str, Any]) -> str:
    """``data`` as YAML: the top levels in block style, each step's body (and each world
    account) in flow style, on one line where it fits."""
    yaml = YAML(typ="rt")
    yaml.width = 100
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = CommentedMap()
    for key, value in data.items():
        if key == "steps":
            out[key] = CommentedSeq(_step(step) for step in value)
        elif key == "world" and isinstance(value, dict):
            world = CommentedMap()
            for wkey, wvalue in value.items():
                if isinstance(wvalue, list):
                    world[wkey] = CommentedSeq(_flow(item) for item in wvalue)
                else:
                    world[wkey] = _flow(wvalue)
            out[key] = world
        else:
            out[key] = _flow(value)
    buffer = io.StringIO()
    yaml.dump(out, buffer)
    return buffer.getvalue()


def _step(step: dict[str, Any]) -> CommentedMap:
    block = CommentedMap()
    for key, value in step.items():
        block[key] = _flow(value)
    return block


def _flow(value: Any) -> Any:
    if isinstance(value, dict):
        mapping = CommentedMap((k, _flow(v)) for k, v in value.items())
        mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list | tuple):
        seq = CommentedSeq(_flow(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and (not _PLAIN.fullmatch(value) or value.lower() in _KEYWORDS):
        # Anything but a plain word or two is double-quoted: a text a user wrote may be
        # any characters (``?``, ``: ``, ``#``, emoji...) and must load back as written.
        if '"' in value and value.isprintable():
            return SingleQuotedScalarString(value)  # a node pattern reads better so
        return DoubleQuotedScalarString(value)
    return value
