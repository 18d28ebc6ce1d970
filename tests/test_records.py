"""``@record`` against ``@dataclass(frozen=True, slots=True)``: the same class bodies made
both ways behave the same (construction, defaults, equality, hashes, repr, immutability,
pickling and copying, ``dataclasses.fields``/``replace``/``asdict``, pattern matching)."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, ClassVar

import pytest

from simulator.records import record


def _pair(kw_only: bool = False) -> tuple[type[Any], type[Any]]:
    """One class body (a base with a defaulted field, a subclass adding fields) made by
    ``record`` and by ``dataclass``; returns the two subclasses."""
    made: list[type[Any]] = []
    for decorate in (
        record(kw_only=kw_only),
        dataclass(frozen=True, slots=True, kw_only=kw_only),
    ):

        class Base:
            """The base."""

            node: str = field(repr=False, compare=False, default="n", kw_only=True)
            tag: ClassVar[str] = "base"

        Base = decorate(Base)  # type: ignore[misc]

        class Child(Base):
            name: str
            count: int = 0
            items: tuple[int, ...] = field(default_factory=tuple)
            seen: list[int] = field(default_factory=list, hash=False, compare=False)

            def __post_init__(self) -> None:
                object.__setattr__(self, "count", self.count + 1)

        made.append(decorate(Child))
    return made[0], made[1]


@pytest.mark.parametrize("kw_only", [False, True])
def test_a_record_behaves_as_the_frozen_slotted_dataclass(kw_only: bool) -> None:
    mine, theirs = _pair(kw_only)
    for cls in (mine, theirs):
        assert dataclasses.is_dataclass(cls)
    assert [f.name for f in dataclasses.fields(mine)] == [
        f.name for f in dataclasses.fields(theirs)
    ]
    assert str(inspect.signature(mine)) == str(inspect.signature(theirs))
    assert mine.__match_args__ == theirs.__match_args__
    assert mine.__slots__ == theirs.__slots__
    assert mine.tag == theirs.tag == "base"
    a, b = mine(name="x", items=(1, 2)), theirs(name="x", items=(1, 2))
    assert repr(a).replace("Child", "C") == repr(b).replace("Child", "C")
    assert (a.count, a.seen, a.node) == (b.count, b.seen, b.node) == (1, [], "n")
    assert hash(a) == hash(b)
    assert a == mine(name="x", items=(1, 2), node="other", seen=[5])
    assert a != mine(name="y", items=(1, 2))
    assert a != b  # different classes, as two dataclasses
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    for obj in (a, b):
        with pytest.raises(FrozenInstanceError):
            obj.name = "z"
        with pytest.raises(FrozenInstanceError):
            del obj.name
        with pytest.raises(AttributeError):
            obj.__dict__  # noqa: B018 (slotted: no instance dictionary)
    # (The dataclass raises TypeError here: its __setattr__ names the class it made before
    # adding the slots, a bug of Python 3.11's dataclasses.)
    with pytest.raises(FrozenInstanceError):
        a.other = 1
    changed = dataclasses.replace(a, name="z")
    assert (type(changed), changed.name, changed.count) == (mine, "z", 2)
    assert dataclasses.replace(b, name="z").count == 2
    with pytest.raises(TypeError):
        mine("x") if kw_only else mine()


def test_records_pickle_and_copy_as_frozen_slotted_dataclasses() -> None:
    for cls in (Point, Event):
        original = cls(x=1, y=(2, 3))
        for made in (pickle.loads(pickle.dumps(original)), copy.copy(original)):
            assert made == original
            assert type(made) is cls
        assert copy.deepcopy(original) == original


def test_matching_and_a_single_field_hash() -> None:
    point = Point(1, (2,))
    match point:
        case Point(1, y):
            assert y == (2,)
        case _:
            pytest.fail("positional pattern did not match")
    assert hash(Single(5)) == hash((5,))
    assert Single(float("nan")) != Single(float("nan"))
    nan = float("nan")
    assert Single(nan) == Single(nan)  # the tuples compare the same object as equal


def test_what_record_refuses_as_dataclass_does() -> None:
    with pytest.raises(ValueError, match="mutable default"):

        @record
        class Mutable:
            items: list[int] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="non-default argument"):

        @record
        class Order:
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(TypeError, match="cannot inherit"):

        @record(frozen=False)
        class Thawed(Point):  # type: ignore[misc]
            z: int = 0


def test_a_mutable_record_is_unhashable_and_assignable() -> None:
    @record(frozen=False)
    class Box:
        value: int

    box = Box(1)
    box.value = 2
    assert box == Box(2)
    with pytest.raises(TypeError):
        hash(box)


@record
class Point:
    x: int
    y: tuple[int, ...]


@record(kw_only=True)
class Event:
    x: int
    y: tuple[int, ...] = ()


@record
class Single:
    value: float


def test_a_plain_subclass_is_made_by_its_records_init() -> None:
    @record
    class Base:
        x: int

    class Plain(Base):
        pass

    made = Plain(3)  # before Base's own first instance
    assert (type(made), made.x) == (Plain, 3)
    assert Base(3) == Base(3)
    assert made != Base(3)  # another class, as with dataclasses
