"""State owns its changes: flows call ``State`` methods named after what happens, and never
write into the state's containers or objects themselves.

The check reads the flows' syntax trees. Inside each function, a name is *state-derived*
when it is ``ctx``, ``server`` or ``state``, or is bound (assignment, ``for``, walrus)
from an expression that reads one (an attribute, an item, a call result). Writing through
a state-derived name is what the rule forbids: assigning or deleting an attribute or an
item, augmented assignment, or calling a mutating method (``append``, ``pop``,
``setdefault``...). Fresh values built from state (literals, comprehensions, ``list(...)``)
are the flow's own and may change freely.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import simulator
import simulator.server.flows

FLOWS = Path(simulator.server.flows.__file__).parent
PACKAGE = Path(simulator.__file__).parent
ROOTS = frozenset({"ctx", "server", "state"})
MUTATORS = frozenset(
    {
        "add",
        "add_prekeys",
        "append",
        "clear",
        "discard",
        "drop_oldest",
        "extend",
        "insert",
        "pop",
        "popitem",
        "remove",
        "remove_by_id",
        "reverse",
        "setdefault",
        "sort",
        "take_prekey",
        "update",
    }
)
STATE = frozenset({"ctx.state", "server.state", "state"})
"""The state object itself: its own methods are how it changes."""
COPIES = frozenset({"list", "dict", "set", "tuple", "sorted", "len", "str", "int", "bool"})


def _root(node: ast.expr) -> str | None:
    """The name an attribute/item/call chain starts from (``a`` in ``a.b[c].d()``)."""
    while True:
        if isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


SELF_STATE = ("self.state.", "self.server.state.", "self.state[", "self.server.state[")
"""Inside the server's own classes the state is reached through ``self``."""


def _reaches_state(node: ast.expr, derived: set[str]) -> bool:
    """Whether the chain ``node`` starts at the state (or something taken from it)."""
    return _root(node) in derived or ast.unparse(node).startswith(SELF_STATE)


def _aliases_state(value: ast.expr, derived: set[str]) -> bool:
    """Whether ``value`` may be (a part of) the state itself, not a fresh copy."""
    if isinstance(value, ast.Name):
        return value.id in derived
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Name) and func.id in COPIES:
            return False
        if _reaches_state(func, derived):
            return True
        return any(_aliases_state(arg, derived) for arg in value.args)
    if isinstance(value, ast.Attribute | ast.Subscript):
        return _reaches_state(value, derived)
    if isinstance(value, ast.IfExp | ast.BoolOp):
        parts = [value.body, value.orelse] if isinstance(value, ast.IfExp) else value.values
        return any(_aliases_state(part, derived) for part in parts)
    return False


def _bound_names(target: ast.expr) -> list[str]:
    """The names an assignment target binds (``a``, ``a, b``), not those it writes through."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _bound_names(element)]
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return []


def _derived_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    derived = set(ROOTS)
    changed = True
    while changed:
        changed = False
        for node in ast.walk(func):
            pairs: list[tuple[ast.expr, ast.expr]] = []
            if isinstance(node, ast.Assign):
                pairs = [(target, node.value) for target in node.targets]
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                pairs = [(node.target, node.value)]
            elif isinstance(node, ast.For | ast.comprehension):
                iterable = node.iter
                if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute):
                    iterable = iterable.func.value  # ``x.items()`` yields parts of ``x``
                pairs = [(node.target, iterable)]
            for target, value in pairs:
                if _aliases_state(value, derived):
                    for name in _bound_names(target):
                        if name not in derived:
                            derived.add(name)
                            changed = True
    return derived


def state_writes(source: str, filename: str = "<flow>") -> list[str]:
    """Every place ``source`` writes into the server state without a ``State`` method."""
    found: list[str] = []
    tree = ast.parse(source)
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        derived = _derived_names(func)
        for node in ast.walk(func):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign | ast.Delete):
                targets = list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                for element in elements:
                    writes = isinstance(element, ast.Attribute | ast.Subscript)
                    if writes and _reaches_state(element, derived):
                        found.append(f"{filename}:{element.lineno}: {ast.unparse(element)}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATORS
                and _reaches_state(node.func.value, derived)
                and ast.unparse(node.func.value) not in STATE
            ):
                found.append(f"{filename}:{node.lineno}: {ast.unparse(node.func)}()")
    return found


def test_flows_change_the_state_only_through_its_methods() -> None:
    found: list[str] = []
    for path in sorted(FLOWS.glob("*.py")):
        found += state_writes(path.read_text(encoding="utf-8"), path.name)
    assert found == []


def test_the_server_core_worlds_cli_and_test_helpers_do_too() -> None:
    paths = [
        *(p for p in sorted((PACKAGE / "server").glob("*.py")) if p.name != "state.py"),
        PACKAGE / "world.py",
        *sorted((PACKAGE / "cli").glob("*.py")),
        *sorted((PACKAGE / "testing").glob("*.py")),
    ]
    found: list[str] = []
    for path in paths:
        found += state_writes(path.read_text(encoding="utf-8"), path.name)
    assert found == []


@pytest.mark.parametrize(
    "body",
    [
        "ctx.state.groups[gjid] = group",
        "del ctx.state.groups[gjid]",
        "ctx.account.push_name = name",
        "group = ctx.state.groups[gjid]\n    group.subject = subject",
        "group = _group(ctx, node)\n    group.participants[jid] = None",
        "lists = ctx.state.broadcast_lists.get(ctx.jid, {})\n    lists.pop(list_id, None)",
        "for blocked in state.blocked.values():\n        blocked[:] = []",
        "server.http.registrar.wrong[phone] += 1",
        "ctx.state.mailbox(ctx.jid).remove_by_id('message', msg_id)",
        "keys = ctx.state.encryption_keys.get(jid)\n    keys.low_notified = True",
        "box = self.state.mailbox(to)\n    box.add(key, node)",
        "self.server.state.accounts[jid].push_name = name",
    ],
)
def test_the_check_sees_each_kind_of_direct_write(body: str) -> None:
    assert state_writes(f"def handle(ctx, server, state, node):\n    {body}\n")


@pytest.mark.parametrize(
    "body",
    [
        "attrs = {'from': ctx.jid}\n    attrs['type'] = 'w:gp2'",
        "users = []\n    users.append(ctx.jid)",
        "book = list(ctx.state.contacts.get(ctx.jid, ()))\n    book.append(number)",
        "ctx.state.add_participants(gjid, added)",
        "ctx.state.take_prekey(ctx.jid, jid, now)",
        "self.sessions[jid] = session",
        "self.state.keep_pending(to, key, node, limit)",
        "attrs = {}\n    attrs['notify'] = ctx.account.push_name\n    attrs['t'] = t",
    ],
)
def test_the_check_lets_flows_build_their_own_values(body: str) -> None:
    assert state_writes(f"def handle(ctx, server, state, node):\n    {body}\n") == []
