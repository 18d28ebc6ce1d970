"""Records: ``@record`` makes the class ``@dataclass(frozen=True, slots=True)`` makes, for a
fraction of the cost of making it.

Python 3.11 compiles every method a dataclass generates on its own (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``): about 0.7 ms per
frozen slotted class, and the package makes some two hundred of them at import, a third
of what ``simulator run one.yaml`` costs before its run. Here only ``__init__`` is
compiled (its text depends on the field names, so classes of the same shape share one
compilation); the other methods are closures over the class's fields, made without
compiling anything, and behave as the generated ones do:

* ``__init__`` has the dataclass's signature (fields in order, ``kw_only``, defaults,
  ``field(default_factory=...)``, ``field(init=False)``) and calls ``__post_init__``;
  a frozen record sets each slot through its descriptor, as ``object.__setattr__`` does;
* ``__eq__`` compares the tuples of the ``compare`` fields of two instances of the same
  class, ``__hash__`` (frozen records) is the hash of the tuple of the hashed fields: the
  same values the dataclass gives, so sets and dicts of records iterate in the same order;
* ``__repr__`` is ``Qualname(a=..., b=...)`` over the ``repr`` fields, recursion-safe;
* assigning or deleting an attribute of a frozen record raises
  :class:`dataclasses.FrozenInstanceError`; frozen records pickle and copy through
  ``__getstate__`` / ``__setstate__`` like slotted dataclasses;
* ``__dataclass_fields__``, ``__dataclass_params__`` and ``__match_args__`` are set, so
  :func:`dataclasses.fields`, :func:`dataclasses.replace`, :func:`dataclasses.asdict` and
  :func:`dataclasses.is_dataclass` treat a record as the dataclass it stands for.

Methods the class body defines itself are kept, as ``dataclass`` keeps them. What this
does not cover (``order``, ``unsafe_hash``, ``eq=False``, ``InitVar`` fields, classes
without slots) stays with :func:`dataclasses.dataclass`: ``record`` hands such a class to
it rather than guess.
"""

from __future__ import annotations

import builtins
import dataclasses
import inspect
from dataclasses import MISSING, Field, FrozenInstanceError, field
from operator import attrgetter
from reprlib import recursive_repr
from types import MemberDescriptorType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, dataclass_transform, overload

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType

__all__ = ["record"]

_T = TypeVar("_T")

_CODE: dict[str, CodeType] = {}
"""Compiled ``__init__`` texts: classes with the same fields share one compilation."""

_PARAMS: dict[tuple[bool, bool], Any] = {}


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _Factory()
"""The default of a parameter whose field has a ``default_factory``: call it."""


@overload
def record(cls: type[_T], /) -> type[_T]: ...
@overload
def record(*, kw_only: bool = False, frozen: bool = True) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(
    cls: type[_T] | None = None, /, *, kw_only: bool = False, frozen: bool = True
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """``@record`` is ``@dataclass(frozen=True, slots=True)``; ``@record(kw_only=True)``
    and ``@record(frozen=False)`` as the same arguments of ``dataclass``."""

    def wrap(cls: type[_T]) -> type[_T]:
        return _make(cls, kw_only=kw_only, frozen=frozen)

    return wrap if cls is None else wrap(cls)


def _is_classvar(annotation: object) -> bool:
    if isinstance(annotation, str):
        text = annotation.strip()
        return text == "ClassVar" or text.startswith(("ClassVar[", "typing.ClassVar"))
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


def _plain_dataclass(cls: type[_T], *, kw_only: bool, frozen: bool) -> type[_T]:
    made: type[_T] = dataclasses.dataclass(frozen=frozen, slots=True, kw_only=kw_only)(cls)
    return made


def _make(cls: type[_T], *, kw_only: bool, frozen: bool) -> type[_T]:
    own = inspect.get_annotations(cls)
    if any("InitVar" in str(annotation) for annotation in own.values()):
        return _plain_dataclass(cls, kw_only=kw_only, frozen=frozen)
    fields: dict[str, Field[Any]] = {}
    for base in cls.__mro__[-1:0:-1]:
        base_fields = base.__dict__.get("__dataclass_fields__")
        if base_fields is None:
            continue
        base_params = base.__dict__.get("__dataclass_params__")
        if base_params is not None and base_params.frozen != frozen:
            what = "frozen" if frozen else "non-frozen"
            other = "non-frozen" if frozen else "frozen"
            raise TypeError(f"cannot inherit {what} dataclass from a {other} one")
        for base_field in base_fields.values():
            if base_field._field_type is dataclasses._FIELD:  # type: ignore[attr-defined]
                fields[base_field.name] = base_field
    namespace = dict(cls.__dict__)
    for name, annotation in own.items():
        if _is_classvar(annotation):
            continue
        default = namespace.pop(name, MISSING)
        if isinstance(default, Field):
            made = default
            if made.kw_only is MISSING:
                made.kw_only = kw_only
        else:
            made = field(default=default, kw_only=kw_only)
        if made.default is not MISSING and made.default.__class__.__hash__ is None:
            raise ValueError(
                f"mutable default {type(made.default)} for field {name} is not allowed: "
                "use default_factory"
            )
        made.name = name
        made.type = annotation
        made._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
        fields[name] = made

    inherited: set[str] = set()
    for base in cls.__mro__[1:-1]:
        slots = base.__dict__.get("__slots__", ())
        inherited.update((slots,) if isinstance(slots, str) else slots)
    namespace["__slots__"] = tuple(name for name in fields if name not in inherited)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    metaclass: Any = type(cls)
    new: Any = metaclass(cls.__name__, cls.__bases__, namespace)
    new.__qualname__ = cls.__qualname__

    values = list(fields.values())
    new.__dataclass_fields__ = fields
    new.__dataclass_params__ = _params(frozen=frozen, kw_only=kw_only)
    own_dict = new.__dict__
    if "__init__" not in own_dict:
        _check_order(values)
        new.__init__ = _LazyInit(new, values, frozen=frozen)
    if "__repr__" not in own_dict:
        new.__repr__ = _repr([f.name for f in values if f.repr])
    if "__eq__" not in own_dict:
        new.__eq__ = _eq(_key([f.name for f in values if f.compare]))
    class_hash = cls.__dict__.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in cls.__dict__))
    if not explicit_hash:
        if frozen:
            hashed = [f.name for f in values if (f.compare if f.hash is None else f.hash)]
            new.__hash__ = _hash(_key(hashed))
        else:
            new.__hash__ = None
    if frozen:
        names = frozenset(fields)
        for method in ("__setattr__", "__delattr__"):
            if method in own_dict:
                raise TypeError(f"cannot overwrite attribute {method} in class {cls.__name__}")
        new.__setattr__, new.__delattr__ = _frozen(new, names)
        ordered = tuple(fields)
        if "__getstate__" not in own_dict:
            new.__getstate__ = _getstate(ordered)
        if "__setstate__" not in own_dict:
            new.__setstate__ = _setstate(ordered)
    if "__match_args__" not in own_dict:
        match_args = tuple(f.name for f in values if f.init and not f.kw_only)
        setattr(new, "__match_args__", match_args)  # noqa: B010 (mypy refuses the assignment)
    if new.__doc__ is None:
        text = str(inspect.signature(new)).replace(" -> None", "")
        new.__doc__ = new.__name__ + text
    made_class: type[_T] = new
    return made_class


def _params(*, frozen: bool, kw_only: bool) -> Any:
    """The ``__dataclass_params__`` ``dataclass`` would set (its attributes vary by version)."""
    made = _PARAMS.get((frozen, kw_only))
    if made is None:
        params = dataclasses._DataclassParams  # type: ignore[attr-defined]
        values = {
            "init": True,
            "repr": True,
            "eq": True,
            "order": False,
            "unsafe_hash": False,
            "frozen": frozen,
            "match_args": True,
            "kw_only": kw_only,
            "slots": True,
            "weakref_slot": False,
        }
        made = params(*[values[name] for name in params.__slots__])
        _PARAMS[(frozen, kw_only)] = made
    return made


def _check_order(fields: list[Field[Any]]) -> None:
    """A positional parameter without a default after one with a default is an error when
    the class is made, as ``dataclass`` reports it."""
    seen_default = False
    for item in fields:
        if not item.init or item.kw_only:
            continue
        has_default = item.default is not MISSING or item.default_factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {item.name!r} follows default argument")
        seen_default = seen_default or has_default


class _LazyInit:
    """A record's ``__init__`` until it is first looked up: the first instance made (or
    ``inspect.signature``, or any other look-up) compiles the real one and puts it in its
    place on the class. Most records of a command are never made, and then never compiled."""

    __slots__ = ("cls", "fields", "frozen")

    def __init__(self, cls: type, fields: list[Field[Any]], *, frozen: bool) -> None:
        self.cls = cls
        self.fields = fields
        self.frozen = frozen

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        init = _init(self.cls, self.fields, frozen=self.frozen)
        self.cls.__init__ = init  # type: ignore[misc]
        return init if instance is None else init.__get__(instance, owner)


def _init(cls: type, fields: list[Field[Any]], *, frozen: bool) -> Callable[..., None]:
    scope: dict[str, Any] = {"__builtins__": builtins, "_HAS_DEFAULT_FACTORY": _HAS_DEFAULT_FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for index, item in enumerate(fields):
        name = item.name
        if item.default_factory is not MISSING:
            scope[f"_factory_{index}"] = item.default_factory
        elif item.default is not MISSING:
            scope[f"_default_{index}"] = item.default
        if item.init:
            if item.default_factory is not MISSING:
                parameter = f"{name}=_HAS_DEFAULT_FACTORY"
                value = f"_factory_{index}() if {name} is _HAS_DEFAULT_FACTORY else {name}"
            elif item.default is not MISSING:
                parameter = f"{name}=_default_{index}"
                value = name
            else:
                parameter = name
                value = name
            (keyword if item.kw_only else positional).append(parameter)
        elif item.default_factory is not MISSING:
            value = f"_factory_{index}()"
        elif item.default is not MISSING:
            value = f"_default_{index}"
        else:
            continue
        if frozen:
            scope[f"_set_{index}"] = _slot(cls, name).__set__
            body.append(f"    _set_{index}(self, {value})")
        else:
            body.append(f"    self.{name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    parameters = ["self", *positional]
    if keyword:
        parameters += ["*", *keyword]
    text = "\n".join([f"def __init__({', '.join(parameters)}):", *(body or ["    pass"])])
    code = _CODE.get(text)
    if code is None:
        code = _CODE[text] = compile(text, "<record __init__>", "exec")
    exec(code, scope)  # the field names of our own classes, nothing else
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = {f.name: f.type for f in fields if f.init} | {"return": None}
    return init


def _slot(cls: type, name: str) -> MemberDescriptorType:
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if isinstance(found, MemberDescriptorType):
            return found
    raise TypeError(f"{cls.__qualname__} has no slot for its field {name!r}")


def _key(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of ``names``' values, as the dataclass's methods build it."""
    if len(names) >= 2:
        many: Callable[[Any], tuple[Any, ...]] = attrgetter(*names)
        return many
    if names:
        get = attrgetter(names[0])
        return lambda self: (get(self),)
    return lambda self: ()


def _repr(names: list[str]) -> Callable[[Any], str]:
    @recursive_repr()
    def __repr__(self: Any) -> str:
        inside = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({inside})"

    return __repr__


def _eq(key: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any, object], Any]:
    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return __eq__


def _hash(key: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(key(self))

    return __hash__


def _frozen(
    cls: Any, names: frozenset[str]
) -> tuple[Callable[[Any, str, Any], None], Callable[[Any, str], None]]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


def _getstate(names: tuple[str, ...]) -> Callable[[Any], list[Any]]:
    def __getstate__(self: Any) -> list[Any]:
        return [getattr(self, name) for name in names]

    return __getstate__


def _setstate(names: tuple[str, ...]) -> Callable[[Any, list[Any]], None]:
    def __setstate__(self: Any, state: list[Any]) -> None:
        for name, value in zip(names, state, strict=False):
            object.__setattr__(self, name, value)

    return __setstate__
