"""YAML files with line numbers, validated by pydantic, every problem reported at once.

ruamel.yaml keeps the position of every mapping key and sequence item; pydantic reports
each error with a location path (``("steps", 3, "expect", "body")``). This module joins
the two: :func:`validate_yaml` returns the validated model and a list of
:class:`Problem` s, each printed as ``file:line: at steps[3].expect.body: <message>``;
:func:`load_model` raises :class:`~simulator.errors.ScenarioSyntaxError` listing *every*
problem.

pydantic puts more than data keys in a location: the tags of discriminated unions and
the names of union members. :func:`locate` walks the location along the data and keeps
only the parts that are there (plus a last part that is missing: a required key), so
the path shown is the path in the file.

Speed: ruamel's pure-Python scanner costs about 6 ms for a short scenario, more than the
rest of checking it. When ruamel's C extension (``ruamel.yaml.clib``, the ``fast`` part of
the dependencies) is installed, :func:`parse_yaml` reads with its libyaml parser and builds
the same round-trip containers with the same positions in a tenth of the time. Any
error on that path, and any ``%`` directive, sends the text through the pure-Python reader,
so every message about a broken file stays word for word what ruamel's own reader says.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import pydantic
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from simulator.errors import ScenarioSyntaxError
from simulator.records import record

__all__ = [
    "Problem",
    "did_you_mean",
    "format_loc",
    "has_c_parser",
    "line_of",
    "load_model",
    "load_yaml",
    "locate",
    "parse_yaml",
    "plain",
    "problems_of",
    "validate_yaml",
]

M = TypeVar("M", bound=pydantic.BaseModel)

_MESSAGE_PREFIXES: Final = re.compile(r"^(Value error|Assertion failed), ")


@record
class Problem:
    """One thing wrong with a file: where, and what."""

    path: str
    line: int | None
    at: str
    """The path inside the file (``steps[3].expect.body``), or ``""`` for the whole file."""
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        at = f": at {self.at}" if self.at else ""
        return f"{where}{at}: {self.message}"


try:
    from _ruamel_yaml import CParser as _CParser  # ruamel.yaml.clib, when installed
except ImportError:  # pragma: no cover - depends on the installation
    _CParser = None

# What only the pure reader reads as ruamel's round trip does: a directive (``%YAML 1.1``)
# and an explicit tag (``!!str 12`` keeps its tag). A ``!`` that only looks like a tag
# (inside quotes) merely costs the fast path.
_PURE_ONLY: Final = re.compile(r"^%|(?:^|[\s\[{,])!", re.MULTILINE)
_YAML_1_2: Final = (1, 2)
# The resolver's own tag objects for implicit strings, sequences and mappings (any other
# tag is built by ruamel's constructor): comparing identities is the cheap test.
_STR: Final = VersionedResolver.DEFAULT_SCALAR_TAG
_SEQ: Final = VersionedResolver.DEFAULT_SEQUENCE_TAG
_MAP: Final = VersionedResolver.DEFAULT_MAPPING_TAG
_PLAIN_STYLES: Final = (None, "", "'", '"')  # not | or >: those keep their style (a str subclass)


class _Unusual(Exception):
    """A document the lean builder leaves to ruamel's constructor."""


class _FastResolver(VersionedResolver):
    """YAML 1.2 rules, looked up once per document.

    ruamel's resolver finds the YAML version of the document for every scalar, which is
    most of the time the C parser leaves; documents with a ``%YAML`` directive never come
    here (see :func:`_fast_load`), so the version is always ruamel's default, 1.2.
    """

    @property
    def processing_version(self) -> Any:
        return _YAML_1_2

    @property
    def versioned_resolver(self) -> Any:
        rules = self.__dict__.get("_rules")
        if rules is None:
            rules = self.__dict__["_rules"] = super().versioned_resolver
        return rules

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        """ruamel's answer, remembered for the plain scalars that are strings.

        The parser asks for every scalar of a file, and a scenario's are mostly the same
        words (keys, names, ids) file after file; ruamel tries each rule for the first
        character's regular expressions every time. Under YAML 1.2 with no path
        resolvers, what a plain scalar resolves to depends on its text alone. Other tags
        are not remembered: ruamel makes a new ``Tag`` each time, and so does this.
        """
        if kind is ScalarNode and implicit[0]:
            if value in _PLAIN_STRINGS:
                return _STR
            tag = super().resolve(kind, value, implicit)
            if tag is _STR and len(_PLAIN_STRINGS) < _PLAIN_STRINGS_KEPT:
                _PLAIN_STRINGS.add(value)
            return tag
        return super().resolve(kind, value, implicit)


_PLAIN_STRINGS: Final[set[str]] = set()
"""Plain scalars known to resolve to strings (see :meth:`_FastResolver.resolve`)."""
_PLAIN_STRINGS_KEPT: Final = 50_000


if _CParser is not None:
    # The C extension has no type information: its class is Any to mypy.
    class _FastLoader(_CParser, RoundTripConstructor, _FastResolver):  # type: ignore[misc]
        """libyaml's parser and composer (C) with ruamel's round-trip constructor."""

        def __init__(self, text: str) -> None:
            _CParser.__init__(self, text)
            self._parser = self._composer = self
            RoundTripConstructor.__init__(self, loader=self)
            self.allow_duplicate_keys = False
            self.comment_handling = None  # what the constructor asks of a YAML() loader
            _FastResolver.__init__(self, loadumper=self)

        def load(self) -> Any:
            """The document, built as ruamel's round-trip constructor builds it."""
            node = self.get_single_node()
            if node is None:
                return None
            try:
                return self._build(node)
            except _Unusual:
                # anchors, merge keys, odd keys: ruamel's own constructor, same nodes
                return self.construct_document(node)

        def _build(self, node: Any) -> Any:
            """The containers and lines the round-trip constructor makes (it handles
            comments, anchors and merges too, at twice the cost: none occur here)."""
            if node.anchor is not None:
                raise _Unusual
            kind = type(node)
            if kind is ScalarNode:
                if node.ctag is _STR and node.style in _PLAIN_STYLES:
                    return node.value
                return self.construct_object(node, deep=True)
            start = node.start_mark
            flow = node.flow_style
            if kind is SequenceNode and node.ctag is _SEQ:
                seq = CommentedSeq()
                seq._yaml_set_line_col(start.line, start.column)
                for index, item in enumerate(node.value):
                    seq.append(self._build(item))
                    mark = item.start_mark
                    seq._yaml_set_idx_line_col(index, [mark.line, mark.column])
                if seq and flow is not None:
                    seq.fa.set_flow_style() if flow else seq.fa.set_block_style()
                return seq
            if kind is MappingNode and node.ctag is _MAP:
                mapping = CommentedMap()
                mapping._yaml_set_line_col(start.line, start.column)
                for key_node, value_node in node.value:
                    if type(key_node) is not ScalarNode or key_node.ctag is not _STR:
                        raise _Unusual  # merge keys (<<), numbers, lists as keys...
                    key = self._build(key_node)
                    if key in mapping:
                        raise _Unusual  # a duplicate: ruamel's constructor words the error
                    at, value_at = key_node.start_mark, value_node.start_mark
                    mapping._yaml_set_kv_line_col(
                        key, [at.line, at.column, value_at.line, value_at.column]
                    )
                    mapping[key] = self._build(value_node)
                if mapping and flow is not None:
                    mapping.fa.set_flow_style() if flow else mapping.fa.set_block_style()
                return mapping
            raise _Unusual


def has_c_parser() -> bool:
    """Whether ruamel's C extension is installed (files read about ten times faster)."""
    return _CParser is not None


def _fast_load(text: str) -> tuple[bool, Any]:
    """``(True, data)`` read by the C parser, or ``(False, None)`` when the pure-Python
    reader must read the text: no C extension, a directive or a tag, or any error (whose
    message the pure reader gives in ruamel's own words)."""
    if _CParser is None or _PURE_ONLY.search(text):
        return False, None
    loader = _FastLoader(text)
    try:
        return True, loader.load()
    except Exception:  # the pure reader reports it, in its own words
        return False, None
    finally:
        loader.dispose()


def parse_yaml(text: str, path: str) -> tuple[Any, list[Problem]]:
    """Parse YAML keeping positions; a syntax error is one located problem."""
    done, data = _fast_load(text)
    if done:
        return data, []
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text), []
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [Problem(path, line, "", f"invalid YAML: {problem}")]
    except (YAMLError, ValueError) as exc:  # ValueError: ``!!int x`` and the like
        return None, [Problem(path, None, "", f"invalid YAML: {exc}")]


def load_yaml(text: str, path: str) -> Any:
    """Parse YAML keeping positions; raise ``ScenarioSyntaxError`` on a syntax error."""
    data, problems = parse_yaml(text, path)
    if problems:
        raise ScenarioSyntaxError([str(p) for p in problems])
    return data


def locate(
    data: Any, loc: Sequence[int | str], *, missing: bool = True
) -> tuple[int | None, tuple[int | str, ...]]:
    """The 1-based line of ``loc`` in data loaded by :func:`parse_yaml`, and the parts of
    ``loc`` that are in the data (and, with ``missing``, a last key that is not: the name
    of a required key that was left out)."""
    line: int | None = None
    kept: list[int | str] = []
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
            kept.append(part)
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
            kept.append(part)
        elif (
            missing
            and index == len(loc) - 1
            and isinstance(node, CommentedMap)
            and isinstance(part, str)
        ):
            kept.append(part)  # a required key that is missing: name it
    if line is None and isinstance(data, CommentedMap | CommentedSeq):
        line = data.lc.line + 1
    return line, tuple(kept)


def line_of(data: Any, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the item at ``loc`` in data loaded by :func:`parse_yaml`."""
    return locate(data, loc)[0]


def format_loc(loc: Sequence[int | str]) -> str:
    """``("steps", 3, "expect")`` -> ``steps[3].expect``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def plain(data: Any) -> Any:
    """ruamel's containers as plain dicts and lists (pydantic validates those best)."""
    if isinstance(data, dict):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data


def problems_of(
    exc: pydantic.ValidationError, data: Any, path: str, *, model: type[Any] | None = None
) -> list[Problem]:
    """Every error of a validation, located in the file, in words a file's author reads.

    With ``model`` (the model validated), an unknown key gets a "did you mean" naming the
    closest key the place accepts; a value outside a closed set always gets one.
    """
    problems = []
    for error in exc.errors(include_url=False):
        line, kept = locate(data, error["loc"], missing=error["type"] == "missing")
        problems.append(Problem(path, line, format_loc(kept), _message(error, model)))
    return problems


def _message(error: Any, model: type[Any] | None) -> str:
    kind = error["type"]
    value = error.get("input")
    message = _MESSAGE_PREFIXES.sub("", error["msg"])
    if kind == "extra_forbidden":
        key = error["loc"][-1] if error["loc"] else ""
        known = _keys_at(model, error["loc"][:-1]) if model is not None else []
        return f"unknown key {key!r}{did_you_mean(str(key), known)}" if known else "unknown key"
    if kind in ("literal_error", "enum"):
        choices = re.findall(r"'((?:[^'\\]|\\.)*)'", str(error.get("ctx", {}).get("expected", "")))
        return f"{value!r} is not one of {', '.join(choices)}{did_you_mean(str(value), choices)}"
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return f'expected text, got the number {value!r}: quote it ("{value}")'
    if kind == "model_type" and not error["loc"]:
        return _top_level(value)
    return message


def did_you_mean(word: str, known: Sequence[str]) -> str:
    """`` (did you mean 'text'?)`` for the closest of ``known``, or nothing."""
    close = difflib.get_close_matches(word, [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _top_level(value: object) -> str:
    if value is None:
        return "the file is empty: a scenario is a mapping with name, world and steps"
    kind = type(value).__name__
    kind = {"str": "a plain string", "list": "a list", "int": "a number"}.get(kind, kind)
    return f"the file holds {kind}, not a mapping (name:, world:, steps: ...)"


def _keys_at(model: type[Any], loc: Sequence[int | str]) -> list[str]:
    """The keys the models at ``loc`` (a pydantic error location) accept."""
    here: set[type[pydantic.BaseModel]] = set(_models_in(model))
    for part in loc:
        if not isinstance(part, str):
            continue
        deeper: set[type[pydantic.BaseModel]] = set()
        for candidate in here:
            for name, field in candidate.model_fields.items():
                if part in (name, field.alias):
                    deeper.update(_models_in(field.annotation))
        if deeper:
            here = deeper
    keys: set[str] = set()
    for candidate in here:
        keys.update(field.alias or name for name, field in candidate.model_fields.items())
    return sorted(keys)


def _models_in(annotation: Any, depth: int = 0) -> Iterator[type[pydantic.BaseModel]]:
    """The models an annotation may hold (through unions, lists, Annotated...)."""
    if depth > 8:
        return
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        yield annotation
        return
    if typing.get_origin(annotation) is typing.Annotated:
        # A union member made when first used (the scenario steps) names its model by
        # ``model_when_used()`` in its metadata: its type says only the members' base.
        for mark in annotation.__metadata__:
            when_used = getattr(mark, "model_when_used", None)
            if when_used is not None:
                yield when_used()
                return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg, depth + 1)


def validate_yaml(
    model: type[M], data: Any, path: str, *, context: dict[str, Any] | None = None
) -> tuple[M | None, list[Problem]]:
    """Validate data loaded by :func:`parse_yaml`; the model, or None and every problem."""
    try:
        return model.model_validate(plain(data), context=context), []
    except pydantic.ValidationError as exc:
        return None, problems_of(exc, data, path, model=model)


def load_model(model: type[M], path: Path | str, *, text: str | None = None) -> M:
    """Load a YAML file into ``model``; raise with every problem and its line."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ScenarioSyntaxError([f"{path}: cannot read: {exc.strerror}"]) from exc
    data, problems = parse_yaml(text, str(path))
    if not problems:
        result, problems = validate_yaml(model, data, str(path), context={"path": str(path)})
        if result is not None:
            return result
    raise ScenarioSyntaxError([str(p) for p in problems])
