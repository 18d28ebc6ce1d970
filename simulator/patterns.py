"""Node patterns: what an expectation (or a fault selector) says a stanza looks like.

A pattern is written in the tx/rx notation of the Chat-API docs (the text form of
:class:`~simulator.wire.node.Node`) or built from the typed fields of an expectation.
Every attribute value and every data in a pattern is one of:

* a literal: ``type="text"`` must be exactly ``text``;
* a template with captures: ``id="{{msg}}"``, ``from="{{bot}}"``, ``"order-{{n}}"``. A
  capture that is not bound yet matches anything and binds to what it matched; a bound one
  must match its value. The names of the world's users (and ``bot``) are bound from the
  start to their JIDs;
* a regular expression between slashes, searched in the value (Python syntax, flags
  ``i``, ``m``, ``s`` after the closing slash): ``<body>/^hello.*/i</body>``. Named groups
  bind captures: ``/^order (?P<order>\\d+)$/`` binds ``{{order}}``;
* absent (only from typed fields): the attribute must not be there.

Matching is a SUBSET match by default: only the attributes and children written must be
there (children in the order written, others may come between them); an element written
with no content (``<x/>`` or ``<x></x>``) says nothing about its content. With
``exact=True`` the node must have exactly the attributes and children written, and no
data when none is written.

:func:`match` returns the new bindings or the first difference; :func:`similarity` scores
how close a stanza comes to a pattern, to show the nearest candidate when nothing matched.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import field
from typing import TYPE_CHECKING, Final, TypeAlias

from simulator.records import record
from simulator.wire.node import Node

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

ELIDE_AT: Final = 64
"""Binary payloads longer than this (bytes) are shortened in transcripts and reports:
yowsup's key upload alone is tens of KB of hex."""
FULL_PAYLOADS: ContextVar[bool] = ContextVar("FULL_PAYLOADS", default=False)
"""True: transcripts and reports show every payload whole (``simulator run --full-payloads``)."""

__all__ = [
    "CAPTURE",
    "Absent",
    "AbsentOr",
    "Bindings",
    "Literal",
    "MatchResult",
    "Pattern",
    "PatternError",
    "Regex",
    "Row",
    "Template",
    "Unbound",
    "Value",
    "compare_rows",
    "compile_node",
    "compile_value",
    "match",
    "node_names",
    "parse_node_text",
    "render_node",
    "render_pattern",
    "similarity",
]

Bindings: TypeAlias = "dict[str, str]"

CAPTURE: Final = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_ANY_BRACES: Final = re.compile(r"\{\{(.*?)\}\}")
_REGEX: Final = re.compile(r"^/(.*)/([ims]*)$", re.DOTALL)
_FLAGS: Final = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
_DOC_PREFIX: Final = re.compile(r"^\s*(tx|rx)\b ?", re.MULTILINE)


class PatternError(ValueError):
    """A pattern, template or regular expression in a scenario file is malformed."""


class Unbound(LookupError):
    """A template needs a capture that no step has bound yet."""

    def __init__(self, name: str) -> None:
        super().__init__(f"capture {{{{{name}}}}} is not bound")
        self.name = name


# -------------------------------------------------------------------- values


@record
class Literal:
    """The value must be exactly ``text``."""

    text: str

    def match(self, actual: str | None, env: Mapping[str, str]) -> Bindings | None:
        return {} if actual == self.text else None

    def display(self, env: Mapping[str, str]) -> str:
        return self.text

    def names(self) -> frozenset[str]:
        return frozenset()


@record
class Template:
    """Text with ``{{captures}}``: ``parts`` alternate literal text and capture names."""

    parts: tuple[tuple[bool, str], ...]
    """(is_capture, text) pairs."""

    def match(self, actual: str | None, env: Mapping[str, str]) -> Bindings | None:
        if actual is None:
            return None
        regex: list[str] = []
        seen: set[str] = set()
        for is_capture, text in self.parts:
            if not is_capture:
                regex.append(re.escape(text))
            elif text in env:
                regex.append(re.escape(env[text]))
            elif text in seen:
                regex.append(f"(?P={text})")
            else:
                seen.add(text)
                regex.append(f"(?P<{text}>.*?)")
        found = re.fullmatch("".join(regex), actual, re.DOTALL)
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}

    def render(self, env: Mapping[str, str]) -> str:
        """The text with every capture replaced; raises :class:`Unbound`."""
        out = []
        for is_capture, text in self.parts:
            if not is_capture:
                out.append(text)
            elif text in env:
                out.append(env[text])
            else:
                raise Unbound(text)
        return "".join(out)

    def display(self, env: Mapping[str, str]) -> str:
        return "".join(
            env.get(text, f"{{{{{text}}}}}") if is_capture else text
            for is_capture, text in self.parts
        )

    def names(self) -> frozenset[str]:
        return frozenset(text for is_capture, text in self.parts if is_capture)

    @property
    def single_capture(self) -> str | None:
        """The name, if the template is exactly one capture (``"{{id}}"``)."""
        if len(self.parts) == 1 and self.parts[0][0]:
            return self.parts[0][1]
        return None


@record
class Regex:
    """A regular expression searched in the value; named groups bind captures."""

    source: str
    flags: str
    compiled: re.Pattern[str] = field(compare=False, repr=False)
    """``source`` compiled with ``flags`` (see :func:`compile_value`)."""

    def match(self, actual: str | None, env: Mapping[str, str]) -> Bindings | None:
        if actual is None:
            return None
        found = self.compiled.search(actual)
        if found is None:
            return None
        new: Bindings = {}
        for name, value in found.groupdict().items():
            if value is None:
                continue
            if name in env and env[name] != value:
                return None
            new[name] = value
        return new

    def display(self, env: Mapping[str, str]) -> str:
        return f"/{self.source}/{self.flags}"

    def names(self) -> frozenset[str]:
        return frozenset(self.compiled.groupindex)


@record
class Absent:
    """The attribute must not be there."""

    def match(self, actual: str | None, env: Mapping[str, str]) -> Bindings | None:
        return {} if actual is None else None

    def display(self, env: Mapping[str, str]) -> str:
        return "(absent)"

    def names(self) -> frozenset[str]:
        return frozenset()


@record
class AbsentOr:
    """The attribute is absent or matches ``value`` (``type="available"`` is the default)."""

    value: Literal

    def match(self, actual: str | None, env: Mapping[str, str]) -> Bindings | None:
        return {} if actual is None else self.value.match(actual, env)

    def display(self, env: Mapping[str, str]) -> str:
        return f"(absent or {self.value.text})"

    def names(self) -> frozenset[str]:
        return frozenset()


Value: TypeAlias = "Literal | Template | Regex | Absent | AbsentOr"


def compile_value(text: str, *, regex: bool = True) -> Literal | Template | Regex:
    """A value as written: ``/regex/flags``, text with ``{{captures}}``, or a literal.

    Raises:
        PatternError: a bad regular expression or a malformed capture.
    """
    found = _REGEX.match(text) if regex else None
    if found is not None:
        flags = 0
        for letter in found.group(2):
            flags |= _FLAGS[letter]
        try:
            compiled = re.compile(found.group(1), flags)
        except re.error as exc:
            raise PatternError(f"bad regular expression {text}: {exc}") from None
        for name in compiled.groupindex:
            if not CAPTURE.fullmatch(f"{{{{{name}}}}}"):
                raise PatternError(f"bad capture name {name!r} in {text}")
        return Regex(found.group(1), found.group(2), compiled)
    return compile_template(text)


def compile_template(text: str) -> Literal | Template:
    """Text with ``{{captures}}`` (a :class:`Literal` when it has none)."""
    for braces in _ANY_BRACES.finditer(text):
        if not CAPTURE.fullmatch(braces.group()):
            raise PatternError(
                f"bad capture {braces.group()!r}: a capture name is letters, digits and _"
            )
    parts: list[tuple[bool, str]] = []
    pos = 0
    for found in CAPTURE.finditer(text):
        if found.start() > pos:
            parts.append((False, text[pos : found.start()]))
        parts.append((True, found.group(1)))
        pos = found.end()
    if not parts:
        return Literal(text)
    if pos < len(text):
        parts.append((False, text[pos:]))
    return Template(tuple(parts))


# -------------------------------------------------------------------- patterns


@record
class Pattern:
    """What a stanza must look like. ``data=None`` says nothing about the data."""

    tag: str
    attrs: tuple[tuple[str, Value], ...] = ()
    children: tuple[Pattern, ...] = ()
    data: Literal | Template | Regex | None = None
    exact: bool = False

    def names(self) -> frozenset[str]:
        """Every capture name the pattern uses or binds."""
        out: set[str] = set()
        for _key, value in self.attrs:
            out |= value.names()
        if self.data is not None:
            out |= self.data.names()
        for child in self.children:
            out |= child.names()
        return frozenset(out)


def parse_node_text(text: str) -> Node:
    """A node in the tx/rx notation; lines may keep the docs' ``tx``/``rx`` prefixes.

    Raises:
        PatternError: the text is not one well-formed node (the message names the offset).
    """
    stripped = text.strip()
    if stripped.startswith(("tx", "rx")):
        stripped = _DOC_PREFIX.sub("", stripped).strip()
    try:
        return Node.parse(stripped)
    except ValueError as exc:
        raise PatternError(f"not a node in the tx/rx notation: {exc}") from None


def compile_node(text: str, *, exact: bool = False) -> Pattern:
    """The pattern written as ``text`` (tx/rx notation with captures and regexes)."""
    return _pattern_of(parse_node_text(text), exact)


def _pattern_of(node: Node, exact: bool) -> Pattern:
    attrs = tuple((key, compile_value(value)) for key, value in node.attrs.items())
    data = None
    if node.data:  # empty data (<x></x>) is "no content", as the docs write it
        data = compile_value(node.data.decode("utf-8", "surrogateescape"))
    children = tuple(_pattern_of(child, exact) for child in node.children)
    return Pattern(node.tag, attrs, children, data, exact)


def node_names(node: Node) -> frozenset[str]:
    """Every capture a node template uses (in attribute values and data)."""
    out: set[str] = set()
    for value in node.attrs.values():
        out.update(CAPTURE.findall(value))
    if node.data:
        out.update(CAPTURE.findall(node.data.decode("utf-8", "surrogateescape")))
    for child in node.children:
        out |= node_names(child)
    return frozenset(out)


def check_node_template(node: Node) -> None:
    """Raise :class:`PatternError` for a malformed capture anywhere in ``node``."""
    for value in node.attrs.values():
        compile_template(value)
    if node.data:
        compile_template(node.data.decode("utf-8", "surrogateescape"))
    for child in node.children:
        check_node_template(child)


def render_node(node: Node, env: Mapping[str, str]) -> Node:
    """``node`` with every ``{{capture}}`` replaced by its value; raises :class:`Unbound`."""

    def sub(text: str) -> str:
        def one(found: re.Match[str]) -> str:
            name = found.group(1)
            if name not in env:
                raise Unbound(name)
            return env[name]

        return CAPTURE.sub(one, text)

    attrs = {key: sub(value) for key, value in node.attrs.items()}
    data = node.data
    if data and b"{{" in data:
        data = sub(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    children = [render_node(child, env) for child in node.children]
    return Node(node.tag, attrs, children, None if children else data)


# -------------------------------------------------------------------- matching


@record
class MatchResult:
    """``ok`` with the captures bound by the match, or the first difference found."""

    ok: bool
    bound: Bindings = field(default_factory=dict)
    difference: str = ""


def match(pattern: Pattern, node: Node, env: Mapping[str, str]) -> MatchResult:
    """Does ``node`` match ``pattern`` given the captures bound so far (``env``)?"""
    work = dict(env)
    difference = _match(pattern, node, work, "")
    if difference is not None:
        return MatchResult(False, difference=difference)
    return MatchResult(True, bound={k: v for k, v in work.items() if k not in env})


def _quote(value: str | None) -> str:
    if value is None:
        return "nothing"
    shown = value if len(value) <= 80 else value[:77] + "..."
    return '"' + shown.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _expected(value: Value, env: Mapping[str, str]) -> str:
    if isinstance(value, Regex | Absent | AbsentOr):
        return value.display(env)
    return _quote(value.display(env))


def _match(pattern: Pattern, node: Node, env: Bindings, path: str) -> str | None:
    """The first difference (and ``env`` untouched), or None (and ``env`` extended)."""
    here = f"{path}/{pattern.tag}" if path else pattern.tag
    if pattern.tag != node.tag:
        return f"{path or 'the stanza'}: expected <{pattern.tag}>, got <{node.tag}>"
    work = dict(env)
    for key, value in pattern.attrs:
        actual = node.get(key)
        bound = value.match(actual, work)
        if bound is None:
            return f"{here}@{key}: expected {_expected(value, work)}, got {_quote(actual)}"
        work.update(bound)
    difference = _match_data(pattern, node, work, here) or _match_children(
        pattern, node, work, here
    )
    if difference is None:
        env.update(work)
    return difference


def _match_data(pattern: Pattern, node: Node, env: Bindings, here: str) -> str | None:
    if pattern.exact:
        written = {key for key, _value in pattern.attrs}
        extra = [key for key in node.attrs if key not in written]
        if extra:
            got = _quote(node.get(extra[0]))
            return f"{here}@{extra[0]}: not in the pattern (exact match), got {got}"
    if pattern.data is None:
        if pattern.exact and node.data:
            return f"{here}: expected no data (exact match), got {_quote(node.text)}"
        return None
    actual = node.text if node.data is not None else None
    bound = pattern.data.match(actual, env)
    if bound is None:
        return f"{here}: expected data {_expected(pattern.data, env)}, got {_quote(actual)}"
    env.update(bound)
    return None


def _match_children(pattern: Pattern, node: Node, env: Bindings, here: str) -> str | None:
    if pattern.exact:
        for want, got in zip(pattern.children, node.children, strict=False):
            difference = _match(want, got, env, here)
            if difference is not None:
                return difference
        if len(pattern.children) != len(node.children):
            return (
                f"{here}: expected {len(pattern.children)} children (exact match),"
                f" got {len(node.children)}"
            )
        return None
    start = 0
    for want in pattern.children:
        first_difference: str | None = None
        for index in range(start, len(node.children)):
            difference = _match(want, node.children[index], env, here)
            if difference is None:
                start = index + 1
                break
            if first_difference is None and node.children[index].tag == want.tag:
                first_difference = difference
        else:
            if first_difference is not None:
                return first_difference
            if node.child(want.tag) is not None:
                return (
                    f"{here}: no <{want.tag}> left after the children matched before it"
                    " (children match in the order written)"
                )
            return f"{here}: no child <{want.tag}>"
    return None


# -------------------------------------------------------------------- nearness


def similarity(pattern: Pattern, node: Node, env: Mapping[str, str]) -> float:
    """How close ``node`` comes to ``pattern``, from 0 (nothing alike) to 1 (a match)."""
    got, total = _score(pattern, node, env)
    return got / total if total else 0.0


def _weight(pattern: Pattern) -> int:
    return (
        4
        + 2 * len(pattern.attrs)
        + (2 if pattern.data is not None else 0)
        + sum(_weight(child) for child in pattern.children)
    )


def _score(pattern: Pattern, node: Node, env: Mapping[str, str]) -> tuple[int, int]:
    total = _weight(pattern)
    if pattern.tag != node.tag:
        return 0, total
    got = 4
    for key, value in pattern.attrs:
        actual = node.get(key)
        if actual is not None or isinstance(value, Absent | AbsentOr):
            got += 1
        if value.match(actual, env) is not None:
            got += 1
    if pattern.data is not None:
        actual = node.text if node.data is not None else None
        got += (actual is not None) + (pattern.data.match(actual, env) is not None)
    for want in pattern.children:
        got += max((_score(want, child, env)[0] for child in node.children), default=0)
    return got, total


# -------------------------------------------------------------------- display


def render_pattern(pattern: Pattern, env: Mapping[str, str], indent: int | None = 2) -> str:
    """The pattern in the tx/rx notation, bound captures shown with their values."""
    return _display_node(pattern, env).to_text(indent=indent)


def _display_node(pattern: Pattern, env: Mapping[str, str]) -> Node:
    attrs = {key: value.display(env) for key, value in pattern.attrs}
    children = [_display_node(child, env) for child in pattern.children]
    data = pattern.data.display(env) if pattern.data is not None and not children else None
    return Node(pattern.tag, attrs, children, data)


def walk(pattern: Pattern) -> Iterator[Pattern]:
    """The pattern and every pattern under it."""
    yield pattern
    for child in pattern.children:
        yield from walk(child)


# -------------------------------------------------------------------- side by side

Row: TypeAlias = "tuple[str, str, bool]"
"""(expected, received, differs): one line of a side-by-side comparison."""

_SHOWN: Final = 60


def _shown(text: str | None) -> str:
    if text is None:
        return ""
    text = text.replace("\n", "\\n")
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def compare_rows(pattern: Pattern, node: Node | None, env: Mapping[str, str]) -> list[Row]:
    """The pattern and a stanza line by line, attributes and children aligned, rows that
    differ flagged (a subset match flags only what the pattern says)."""
    if node is None:
        return [(line, "", False) for line in render_pattern(pattern, env).split("\n")]
    return _rows(pattern, node, env, "")


def _rows(pattern: Pattern, node: Node, env: Mapping[str, str], pad: str) -> list[Row]:
    if pattern.tag != node.tag:
        left = [pad + line for line in render_pattern(pattern, env).split("\n")]
        right = [pad + line for line in _received_lines(node)]
        count = max(len(left), len(right))
        return [
            (left[i] if i < len(left) else "", right[i] if i < len(right) else "", True)
            for i in range(count)
        ]
    want = pattern.data.display(env) if pattern.data is not None else None
    got = node.text
    data_differs = pattern.data is not None and pattern.data.match(got, env) is None
    data_differs = data_differs or (pattern.exact and pattern.data is None and bool(node.data))
    if not pattern.attrs and not node.attrs and not pattern.children and not node.children:
        return [(_leaf(pad, pattern.tag, want), _leaf(pad, node.tag, got), data_differs)]
    rows: list[Row] = [(f"{pad}<{pattern.tag}", f"{pad}<{node.tag}", False)]
    written = set()
    for key, value in pattern.attrs:
        written.add(key)
        actual = node.get(key)
        received = f'{pad}  {key}="{_shown(actual)}"' if actual is not None else ""
        rows.append(
            (
                f'{pad}  {key}="{_shown(value.display(env))}"',
                received,
                value.match(actual, env) is None,
            )
        )
    for key, actual in node.attrs.items():
        if key not in written:
            rows.append(("", f'{pad}  {key}="{_shown(actual)}"', pattern.exact))
    if want is not None or got:
        rows.append((f"{pad}  {_shown(want)}", f"{pad}  {_shown(got)}", data_differs))
    rows.extend(_child_rows(pattern, node, env, pad + "  "))
    close = f"{pad}</{pattern.tag}>" if (pattern.children or want is not None) else f"{pad}/>"
    close_right = f"{pad}</{node.tag}>" if (node.children or got) else f"{pad}/>"
    rows.append((close, close_right, False))
    return rows


def _received_lines(node: Node) -> list[str]:
    """A received subtree the pattern does not align with, one line per row; long binary
    payloads shortened as in transcripts (unless ``--full-payloads``)."""
    elide = None if FULL_PAYLOADS.get() else ELIDE_AT
    return node.to_text(indent=2, elide=elide).split("\n")


def _leaf(pad: str, tag: str, data: str | None) -> str:
    return f"{pad}<{tag}/>" if data is None else f"{pad}<{tag}>{_shown(data)}</{tag}>"


def _child_rows(pattern: Pattern, node: Node, env: Mapping[str, str], pad: str) -> list[Row]:
    rows: list[Row] = []
    cursor = 0
    for want in pattern.children:
        index = next(
            (i for i in range(cursor, len(node.children)) if node.children[i].tag == want.tag), None
        )
        if index is None:
            rows.extend((pad + line, "", True) for line in render_pattern(want, env).split("\n"))
            continue
        for skipped in node.children[cursor:index]:
            rows.extend(("", pad + line, pattern.exact) for line in _received_lines(skipped))
        rows.extend(_rows(want, node.children[index], env, pad))
        cursor = index + 1
    for rest in node.children[cursor:]:
        rows.extend(("", pad + line, pattern.exact) for line in _received_lines(rest))
    return rows
