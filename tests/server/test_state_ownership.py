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
import textwrap
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
COPIES = frozenset({"list", "dict", "set", "tuple", "sorted", "len", "str", "int", "bool"})


RECEIVERS = frozenset({"ctx", "server", "self", "self.server", "self._server", "rt.server"})
"""What ``.state`` is read from to reach the server state (``ctx.state``, ``self.server.state``)."""

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _is_state(node: ast.expr) -> bool:
    """Whether ``node`` is the state object itself (``state``, ``ctx.state``, ``self.state``...)."""
    if isinstance(node, ast.Name):
        return node.id == "state"
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "state"
        and ast.unparse(node.value) in RECEIVERS
    )


def _calls_helper(node: ast.Call, helpers: frozenset[str]) -> bool:
    """Whether ``node`` calls a function or method of the module that returns state."""
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in helpers
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in ("self", "cls")
        and func.attr in helpers
    )


def _reaches_state(node: ast.expr, derived: set[str], helpers: frozenset[str]) -> bool:
    """Whether the chain ``node`` (``a.b[c].d()``) starts at the state or at something taken
    from it: a state-derived name, ``<server>.state``, or what a state helper returned."""
    while True:
        if _is_state(node):
            return True
        if isinstance(node, ast.Call):
            if _calls_helper(node, helpers):
                return True
            node = node.func
        elif isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id in derived
        else:
            return False


def _aliases_state(value: ast.expr, derived: set[str], helpers: frozenset[str]) -> bool:
    """Whether ``value`` may be (a part of) the state itself, not a fresh copy."""
    if isinstance(value, ast.Name):
        return value.id in derived
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Name) and (func.id in COPIES or func.id[:1].isupper()):
            return False  # a copy, or a new object (a class called by its name) holding parts
        if _calls_helper(value, helpers) or _reaches_state(func, derived, helpers):
            return True
        return any(_aliases_state(arg, derived, helpers) for arg in value.args)
    if isinstance(value, ast.Attribute | ast.Subscript):
        return _reaches_state(value, derived, helpers)
    if isinstance(value, ast.IfExp | ast.BoolOp):
        parts = [value.body, value.orelse] if isinstance(value, ast.IfExp) else value.values
        return any(_aliases_state(part, derived, helpers) for part in parts)
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


def _derived_names(func: Function, helpers: frozenset[str]) -> set[str]:
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
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                iterable = node.iter
                if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute):
                    iterable = iterable.func.value  # ``x.items()`` yields parts of ``x``
                pairs = [(node.target, iterable)]
            for target, value in pairs:
                if _aliases_state(value, derived, helpers):
                    for name in _bound_names(target):
                        if name not in derived:
                            derived.add(name)
                            changed = True
    return derived


def state_helpers(tree: ast.Module) -> frozenset[str]:
    """The functions and methods of a module that return (a part of) the state: what they
    return is state too (``self._account(party).status = ...`` writes into the state)."""
    functions = [node for node in ast.walk(tree) if isinstance(node, Function)]
    helpers: frozenset[str] = frozenset()
    while True:
        found = set(helpers)
        for func in functions:
            derived = _derived_names(func, helpers)
            returns = [
                node.value
                for node in ast.walk(func)
                if isinstance(node, ast.Return) and node.value is not None
            ]
            if any(_aliases_state(value, derived, helpers) for value in returns):
                found.add(func.name)
        if found == helpers:
            return helpers
        helpers = frozenset(found)


def state_writes(source: str, filename: str = "<flow>") -> list[str]:
    """Every place ``source`` writes into the server state without a ``State`` method."""
    found: list[str] = []
    tree = ast.parse(source)
    helpers = state_helpers(tree)
    for func in ast.walk(tree):
        if not isinstance(func, Function):
            continue
        derived = _derived_names(func, helpers)
        for node in ast.walk(func):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign | ast.Delete):
                targets = list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                for element in elements:
                    into = (
                        element.value
                        if isinstance(element, ast.Attribute | ast.Subscript)
                        else None
                    )
                    if into is not None and _reaches_state(into, derived, helpers):
                        found.append(f"{filename}:{element.lineno}: {ast.unparse(element)}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATORS
                and _reaches_state(node.func.value, derived, helpers)
                and not _is_state(node.func.value)
            ):
                found.append(f"{filename}:{node.lineno}: {ast.unparse(node.func)}()")
    return sorted(set(found), key=found.index)


def test_flows_change_the_state_only_through_its_methods() -> None:
    found: list[str] = []
    for path in sorted(FLOWS.glob("*.py")):
        found += state_writes(path.read_text(encoding="utf-8"), path.name)
    assert found == []


def test_nothing_outside_state_py_writes_into_the_state() -> None:
    """The whole package (server core, worlds, CLI, desk, scenarios, test helpers...)."""
    paths = [p for p in sorted(PACKAGE.rglob("*.py")) if p != PACKAGE / "server" / "state.py"]
    assert len(paths) > 100
    found: list[str] = []
    for path in paths:
        found += state_writes(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE)))
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
        "end = NodeLink(server, tx, rx)\n    end._other = other",
    ],
)
def test_the_check_lets_flows_build_their_own_values(body: str) -> None:
    assert state_writes(f"def handle(ctx, server, state, node):\n    {body}\n") == []


HELPERS = """
class Faults:
    def _account(self, party):
        jid = self.resolve(party)
        account = self.server.state.accounts.get(jid)
        if account is None:
            raise KeyError(party)
        return account

    def _first(self, party):
        return self._account(party)

    def expire(self, party, rt, state, jid):
{body}


def member(state, jid):
    return state.account(jid)
"""


def _faults(body: str) -> str:
    """The snippet with ``body`` as the method ``expire`` (helpers above it)."""
    return HELPERS.format(body=textwrap.indent(body, " " * 8))


@pytest.mark.parametrize(
    "body",
    [
        "self._account(party).status = 'expired'",
        "self._first(party).status = 'expired'",
        "account = self._account(party)\naccount.kind = 'paid'",
        "self._account(party).blocked.add(jid)",
        "acct = state.account(jid)\nacct.x = 1",
        "member(state, jid).push_name = 'x'",
        "for account in self.server.state.accounts.values():\n    account.kind = 'free'",
        "rt.server.state.groups[jid].subject = 'x'",
        "del rt.server.state.groups[jid]",
    ],
)
def test_the_check_sees_writes_through_what_state_helpers_return(body: str) -> None:
    found = state_writes(_faults(body))
    assert found
    assert all(int(line.split(":")[1]) >= 14 for line in found), found  # in the body


@pytest.mark.parametrize(
    "body",
    [
        "self.server.state.set_account_status(self._account(party).jid, 'expired')",
        "jid = self._account(party).jid\njid = jid.lower()",
        "names = [a.phone for a in self.server.state.accounts.values()]\nnames.append('x')",
        "self.expired = self._account(party).jid",
        "rt.server.state.set_push_name(jid, 'x')",
        "self.state = None",
    ],
)
def test_the_check_lets_values_taken_from_helpers_be_read(body: str) -> None:
    assert state_writes(_faults(body)) == []
