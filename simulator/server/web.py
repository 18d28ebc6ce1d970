"""HTTP requests and responses as the service's handlers see them, and their routes.

Kept apart from :mod:`simulator.server.http` (the h11 server) so that flows can answer
HTTP and register HTTP routes on the router without importing the server that serves them.
"""

from __future__ import annotations

import http
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeAlias, final

from simulator.records import record

if TYPE_CHECKING:
    from simulator.server.server import Server

__all__ = ["HttpHandler", "HttpRefusal", "HttpRequest", "HttpResponse", "HttpRoute"]


@final
@record
class HttpRequest:
    """One request as the handlers see it.

    Query and form values are decoded as latin-1, so every byte of a raw identity
    (yowsup 2.5 and Chat-API send 20 random bytes, URL-encoded) survives as one character.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Lower-cased names."""
    body: bytes = b""


@final
@record
class HttpResponse:
    """What a handler answers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def json(cls, payload: Mapping[str, object], status: int = 200) -> HttpResponse:
        """A JSON object on a line of its own (yowsup looks for a line starting with ``{``)."""
        return cls(status, json.dumps(payload, separators=(",", ":")).encode() + b"\n")

    @classmethod
    def text(cls, status: int, message: str = "") -> HttpResponse:
        body = (message or http.HTTPStatus(status).phrase).encode() + b"\n"
        return cls(status, body, "text/plain; charset=utf-8")


HttpHandler: TypeAlias = "Callable[[Server, HttpRequest], HttpResponse]"
"""A request handler: sync (handlers change state, never wait)."""


class HttpRefusal(Exception):
    """A request refused from its head alone; ``response`` is the answer."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


@final
@record
class HttpRoute:
    """One HTTP route: a path (or every path under a prefix), its methods and handler."""

    path: str
    methods: frozenset[str]
    handler: HttpHandler
    prefix: bool = False
    """Whether ``path`` is a prefix: the route answers every path that starts with it."""
    body_limit: Callable[[Server, str], int] | None = None
    """The largest body a request to this path may carry (``None``: ``http_max_form``);
    it may raise :class:`HttpRefusal` to answer from the head alone."""
