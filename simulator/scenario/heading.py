"""A scenario file's name, read without loading the file.

pytest names a scenario item after the scenario, and every xdist worker collects every
file: loading and checking each one there (YAML, models, world, bot import, every step)
made each worker repeat the whole suite's checks. :func:`read_name` reads the YAML events
of the file only up to the top-level ``name`` key, so that collection costs next to
nothing and the check runs once, in the worker that runs the item.

The name is what the loader would take (the same parser's events, the same YAML 1.2
resolution): a plain scalar that resolves to a string, or a quoted one. Anything else
(no mapping, no ``name``, a tag, a number, a block scalar, a directive, an empty name,
a syntax error before the name) gives None, and the caller loads the file as a whole,
which reports what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

from ruamel.yaml import YAML
from ruamel.yaml.events import (
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingStartEvent,
    ScalarEvent,
    StreamStartEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

try:
    from _ruamel_yaml import CParser as _CParser  # ruamel.yaml.clib, when installed
except ImportError:  # pragma: no cover - depends on the installation
    _CParser = None

__all__ = ["read_name"]

_DIRECTIVE: Final = re.compile(r"^%", re.MULTILINE)
"""A ``%YAML 1.1`` directive changes how plain scalars resolve: such files are loaded."""
_QUOTED: Final = ("'", '"')
_RESOLVER: Final = VersionedResolver()
_STR: Final = VersionedResolver.DEFAULT_SCALAR_TAG


def read_name(text: str, *, c_parser: bool = True) -> tuple[str, int] | None:
    """The scenario's ``name`` and its 1-based line, or None when only loading the file
    can tell (see the module docstring). ``c_parser=False`` reads with ruamel's
    pure-Python parser even when its C extension is installed (for a file that loads, both
    give the same; in a broken one the C parser may read the name before the error)."""
    if _DIRECTIVE.search(text):
        return None
    try:
        return _name_in(_events(text, c_parser=c_parser))
    except Exception:  # a syntax error: loading the file reports it in ruamel's words
        return None


def _events(text: str, *, c_parser: bool) -> Iterator[Any]:
    if c_parser and _CParser is not None:
        parser = _CParser(text)
        try:
            while True:
                yield parser.get_event()
        finally:
            parser.dispose()
    else:
        yield from YAML(typ="rt").parse(text)


def _name_in(events: Iterator[Any]) -> tuple[str, int] | None:
    if not isinstance(next(events), StreamStartEvent):  # pragma: no cover - always first
        return None
    if not isinstance(next(events), DocumentStartEvent):
        return None  # an empty stream
    if not isinstance(next(events), MappingStartEvent):
        return None
    for key in events:
        if not _is_text(key):
            return None  # the end of the mapping, or an unusual key (loaded as a whole)
        value = next(events)
        if key.value == "name":
            if not _is_text(value) or not value.value:
                return None
            return str(value.value), key.start_mark.line + 1
        _skip(value, events)
    return None  # pragma: no cover - a mapping always ends before the stream does


def _is_text(event: Any) -> bool:
    """A scalar the loader reads as a plain ``str``: no tag, no anchor, quoted or plain
    (not ``|`` or ``>``, which keep their style) and, plain, resolving to a string."""
    if type(event) is not ScalarEvent or event.tag is not None or event.anchor is not None:
        return False
    if event.style in _QUOTED:
        return True
    if event.style:
        return False
    return _RESOLVER.resolve(ScalarNode, event.value, (True, False)) is _STR


def _skip(value: Any, events: Iterator[Any]) -> None:
    """Read past one value (a scalar, an alias, or a whole collection)."""
    if not isinstance(value, CollectionStartEvent):
        return  # a scalar or an alias
    depth = 1
    while depth:
        event = next(events)
        if isinstance(event, CollectionStartEvent):
            depth += 1
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
