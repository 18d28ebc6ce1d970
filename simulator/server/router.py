"""The router: which handler answers which stanza, as one table that can list itself.

Theory of operation
-------------------
A route is a pattern over four things a stanza shows at its top: the tag, the ``type``
attribute, the ``xmlns`` attribute, and the tag of its first child. Flow modules
register handlers with ``@router.route("iq", type="get", xmlns="w:p")``; registering
the same pattern twice is an error at start-up.

Dispatch is dict lookups, from the most specific key to the least, and the order is
written down here and nowhere else::

    (tag, type, xmlns, child) -> (tag, type, xmlns) -> (tag, xmlns, child)
    -> (tag, xmlns) -> (tag, type, child) -> (tag, type) -> (tag, child) -> (tag,)

Only key shapes that some route of that tag actually uses are tried, so a ``message``
(registered as ``(tag,)`` alone) costs one lookup.

What nobody handles: an ``iq`` of type ``get`` or ``set`` is answered with
``501 feature-not-implemented`` so that no client ever waits forever (PROTOCOL.md §3.0);
anything else is dropped (and shows up as unhandled in the transcript).

``router.routes()`` lists the table; ``simulator routes`` prints it and the flow table
in the docs is generated from it, so the documentation cannot drift from the code.

Hooks
-----
The core calls flows only through what they registered here, never by name: HTTP
handlers (``router.http_route(path, handler)``, looked up by :meth:`Router.http_lookup`:
the exact path first, then the longest registered prefix), what a user is told at login
after its backlog (``router.on_login(hook)``), and what happens when a user's live
session ends (``router.on_disconnect(hook)``); hooks run in registration order.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Final, TypeAlias, final

from simulator.records import record
from simulator.server.web import HttpHandler, HttpRoute

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.server import Server
    from simulator.wire.node import Node

__all__ = ["DisconnectHook", "Handler", "Route", "Router", "SessionHook"]

Handler: TypeAlias = "Callable[[HandlerContext, Node], Awaitable[None] | None]"
"""A flow's handler: a coroutine function, or a plain function when handling never waits
(the server then runs a pushed stanza's handler with no coroutine, ``Server.take_pushed``)."""
SessionHook: TypeAlias = "Callable[[HandlerContext], None]"
"""Called (sync) with the context of a user's live session."""
DisconnectHook: TypeAlias = SessionHook

_Key: TypeAlias = tuple[str, str | None, str | None, str | None]

# The fallback order: which of (type, xmlns, child) a key keeps, most specific first.
_SHAPES: Final[tuple[tuple[bool, bool, bool], ...]] = (
    (True, True, True),
    (True, True, False),
    (False, True, True),
    (False, True, False),
    (True, False, True),
    (True, False, False),
    (False, False, True),
    (False, False, False),
)


@final
@record
class Route:
    """One row of the routing table."""

    tag: str
    type: str | None
    xmlns: str | None
    child: str | None
    handler: Handler
    flow: str
    """The flow family (module) the handler belongs to, e.g. ``messages``."""
    section: str
    """The PROTOCOL.md section the behaviour follows, e.g. ``§3.10``."""
    summary: str
    """The first line of the handler's docstring."""

    @property
    def pattern(self) -> str:
        parts = [f"<{self.tag}"]
        if self.type is not None:
            parts.append(f' type="{self.type}"')
        if self.xmlns is not None:
            parts.append(f' xmlns="{self.xmlns}"')
        if self.child is not None:
            return "".join(parts) + f"><{self.child}/>"
        return "".join(parts) + ">"


@final
class Router:
    """A routing table instance; every server owns one (no global registry)."""

    def __init__(self) -> None:
        self._table: dict[_Key, Route] = {}
        self._shapes: dict[str, list[tuple[bool, bool, bool]]] = {}
        self.by_tag: dict[str, Route] = {}
        """The route of each tag registered by its tag alone and by nothing more specific
        (``message``, ``receipt``, ``ack``...): one lookup for the common stanzas. Read
        only: the server looks here before it calls :meth:`lookup`."""
        self._http: dict[str, HttpRoute] = {}
        self._http_prefixes: list[HttpRoute] = []  # longest first
        self.login_hooks: list[SessionHook] = []
        self.disconnect_hooks: list[SessionHook] = []

    def route(
        self,
        tag: str,
        *,
        type: str | None = None,
        xmlns: str | None = None,
        child: str | None = None,
        section: str = "",
    ) -> Callable[[Handler], Handler]:
        """Decorator: register ``handler`` for stanzas matching the pattern."""

        def register(handler: Handler) -> Handler:
            self.add(tag, handler, type=type, xmlns=xmlns, child=child, section=section)
            return handler

        return register

    def add(
        self,
        tag: str,
        handler: Handler,
        *,
        type: str | None = None,
        xmlns: str | None = None,
        child: str | None = None,
        section: str = "",
    ) -> None:
        key: _Key = (tag, type, xmlns, child)
        if key in self._table:
            existing = self._table[key]
            raise ValueError(f"route {existing.pattern} is registered twice")
        module = getattr(handler, "__module__", "") or ""
        summary = (inspect.getdoc(handler) or "").split("\n", 1)[0]
        self._table[key] = Route(
            tag, type, xmlns, child, handler, module.rsplit(".", 1)[-1], section, summary
        )
        shape = (type is not None, xmlns is not None, child is not None)
        shapes = self._shapes.setdefault(tag, [])
        if shape not in shapes:
            shapes.append(shape)
            shapes.sort(key=_SHAPES.index)
        if shapes == [(False, False, False)]:
            self.by_tag[tag] = self._table[(tag, None, None, None)]
        else:
            self.by_tag.pop(tag, None)

    def lookup(self, node: Node) -> Route | None:
        """The route for a stanza, following the fallback order above."""
        route = self.by_tag.get(node.tag)
        if route is not None:
            return route
        shapes = self._shapes.get(node.tag)
        if not shapes:
            return None
        attrs = node.attrs
        type_ = attrs.get("type")
        xmlns = attrs.get("xmlns")
        child = node.children[0].tag if node.children else None
        table = self._table
        for with_type, with_xmlns, with_child in shapes:
            route = table.get(
                (
                    node.tag,
                    type_ if with_type else None,
                    xmlns if with_xmlns else None,
                    child if with_child else None,
                )
            )
            if route is not None:
                return route
        return None

    def routes(self) -> list[Route]:
        """Every route, sorted by flow, tag and pattern."""
        return sorted(self._table.values(), key=lambda r: (r.flow, r.tag, r.pattern))

    # ---------------------------------------------------------------- hooks

    def http_route(
        self,
        path: str,
        handler: HttpHandler,
        *,
        methods: Iterable[str] = ("GET",),
        prefix: bool = False,
        body_limit: Callable[[Server, str], int] | None = None,
    ) -> None:
        """Serve ``methods path`` (every path under ``path``, with ``prefix``) over HTTP."""
        route = HttpRoute(path, frozenset(methods), handler, prefix, body_limit)
        known = self._http_prefixes if prefix else list(self._http.values())
        if any(r.path == path for r in known):
            raise ValueError(f"HTTP route {path} is registered twice")
        if prefix:
            self._http_prefixes.append(route)
            self._http_prefixes.sort(key=lambda r: -len(r.path))
        else:
            self._http[path] = route

    def http_lookup(self, path: str) -> HttpRoute | None:
        """The HTTP route of ``path``: its exact route, else the longest matching prefix."""
        route = self._http.get(path)
        if route is not None:
            return route
        return next((r for r in self._http_prefixes if path.startswith(r.path)), None)

    def http_routes(self) -> list[HttpRoute]:
        return [*self._http.values(), *self._http_prefixes]

    def on_login(self, hook: SessionHook) -> SessionHook:
        """Call ``hook(ctx)`` when a user's live session has logged in and got its backlog
        (usable as a decorator)."""
        self.login_hooks.append(hook)
        return hook

    def on_disconnect(self, hook: SessionHook) -> SessionHook:
        """Call ``hook(ctx)`` whenever a user's live session ends (usable as a decorator)."""
        self.disconnect_hooks.append(hook)
        return hook

    def extend(self, registrations: Iterable[Callable[[Router], None]]) -> Router:
        for register in registrations:
            register(self)
        return self
