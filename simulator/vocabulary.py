"""What a text field of a file model may hold: a closed set, or text that selects nothing.

A typo in a value that selects behaviour must be an error, not a silent change of
meaning (``strict: [mesage]`` once switched a check off). So every text field of the
scenario and world models says which kind it is, and a test walks the models and fails
on a bare ``str``:

* a closed set: a ``Literal`` (pydantic lists the choices; the loader adds "did you
  mean"), or :class:`Choices` for a matched value that may also be a ``{{capture}}`` or a
  ``/regex/`` (a literal must be one of the set);
* free text, marked with :class:`FreeText` saying what it is and who checks it: a name
  (resolved against the world by the scenario's builder), a body or subject, a node in
  the tx/rx notation (parsed by the loader), a path, an id.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Final

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from simulator.records import record

__all__ = [
    "Choices",
    "FreeText",
    "Id",
    "Matched",
    "NodeText",
    "PathText",
    "Text",
]


@record
class FreeText:
    """Marks a text field whose value selects no behaviour by itself."""

    what: str


_REGEX: Final = re.compile(r"^/.*/[ims]*$", re.S)


def _is_literal(value: str) -> bool:
    return not _REGEX.match(value) and "{{" not in value


class Choices:
    """A matched text field: a ``/regex/``, a ``{{capture}}``, or a literal from ``values``
    (``Annotated[str, Choices("text", "media")]``); anything else is refused, with the
    closest value as a hint."""

    __slots__ = ("values",)

    def __init__(self, *values: str) -> None:
        self.values = values

    def __repr__(self) -> str:
        return f"Choices{self.values!r}"

    def check(self, value: str) -> str:
        if _is_literal(value) and value not in self.values:
            close = difflib.get_close_matches(value, self.values, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PydanticCustomError(
                "choice",
                "{value} is not one of {listed}{hint}",
                {"value": repr(value), "listed": ", ".join(self.values), "hint": hint},
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "anyOf": [
                {"enum": list(self.values)},
                {"type": "string", "pattern": _REGEX.pattern},
                {"type": "string", "pattern": r"\{\{"},
            ]
        }


Text = Annotated[str, FreeText("text shown to people: a body, subject, caption or name")]
Id = Annotated[str, FreeText("an id or token, usually a {{capture}}")]
Matched = Annotated[str, FreeText("a matched value: literal, {{capture}} or /regex/")]
NodeText = Annotated[str, FreeText("a stanza in the tx/rx notation, parsed by the loader")]
PathText = Annotated[str, FreeText("a path, module or program, checked when the file loads")]
