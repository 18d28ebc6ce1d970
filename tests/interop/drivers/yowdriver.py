"""Plumbing shared by the yowsup driver scripts ``echo_bot.py`` and ``user.py``.

These scripts are not test modules: the interop tests start them as subprocesses with the
project's Python and ``PYTHONPATH=.interop/<name>`` (one installed yowsup version plus its
few dependencies, see ``tests/interop/clients.txt``). They import and drive yowsup as it is;
nothing in yowsup is patched. Everything they report goes to stdout as one JSON object per
line (``{"event": ...}``); yowsup's own ``print()`` output is sent to stderr so that stdout
stays machine-readable. See ``tests/interop/README.md`` for the protocol and exit codes.

yowsup is imported lazily (inside functions) so that the process is prepared first:
warnings of the legacy code silenced, proxy variables dropped, SIGTERM handled.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import signal
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

# Exit codes shared by both drivers.
EXIT_OK = 0
"""The session ended: the server closed it after login, or the driver was told to stop."""
EXIT_CRASH = 1
"""Anything unexpected (a traceback is on stderr)."""
EXIT_USAGE = 2
"""Missing or malformed SIM_* environment variables or arguments."""
EXIT_AUTH_FAILED = 3
"""The server refused the login with ``<failure>``."""
EXIT_NO_SESSION = 4
"""The connection failed, or was closed before the login completed."""
EXIT_UNSUPPORTED = 5
"""This yowsup version cannot run the driver unmodified on this Python (see README)."""


class Stop(BaseException):
    """Raised by the SIGTERM/SIGINT handler to leave the asyncore loop.

    A ``BaseException`` so that yowsup's and asyncore's ``except Exception`` blocks let it
    through (asyncore's bare ``except`` hands it to ``handle_error``, which re-raises).
    """


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to log in, read from the environment."""

    host: str
    port: int
    phone: str
    password_b64: str

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def credentials(self) -> tuple[str, str]:
        return (self.phone, self.password_b64)


class Events:
    """Writes the driver's JSON-lines events to the real stdout.

    ``sys.stdout`` is pointed at stderr once this exists, so the ``print()`` calls inside
    yowsup (``Logged in``, ``Echoing ...``, ``Disconnected, reason: ...``) do not mix with
    the events. yowsup 2.4+ sends pings from a thread, hence the lock.
    """

    def __init__(self) -> None:
        self._out = sys.stdout
        self._lock = threading.Lock()
        sys.stdout = sys.stderr

    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, ensure_ascii=True, sort_keys=False)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()


def prepare_process() -> None:
    """Make the legacy client runnable and quiet in a test subprocess.

    * yowsup 2.4+ reads ``http_proxy``/``https_proxy`` and would tunnel even a loopback
      connection through it; the simulator is always reached directly.
    * asyncore (3.11), protobuf 3.20 and yowsup emit Deprecation/Syntax warnings; under
      ``PYTHONWARNINGS=error`` they would abort the import.
    * SIGTERM and SIGINT raise :class:`Stop` so the driver can close its socket and exit 0.
    """
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(name, None)
    for category in (DeprecationWarning, PendingDeprecationWarning, SyntaxWarning):
        warnings.filterwarnings("ignore", category=category)

    def _raise_stop(signum: int, frame: FrameType | None) -> NoReturn:
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    spread_message_ids()


def spread_message_ids() -> None:
    """Start yowsup's id counter at a per-process offset (workaround 10 in the README).

    yowsup's ids are the wall-clock second plus a process-wide counter starting at 0, so two
    clients started in the same second send the same ids; 2.5.7's retry handling then
    confuses their messages. The server keeps ids per sender, as the service did.
    """
    from yowsup.structs.protocolentity import ProtocolEntity

    ProtocolEntity._ProtocolEntity__ID_GEN = (os.getpid() % 10_000) * 1_000


def read_endpoint(events: Events) -> Endpoint:
    """``SIM_HOST`` (default 127.0.0.1), ``SIM_PORT``, ``SIM_PHONE``, ``SIM_PASSWORD``."""
    env = os.environ
    missing = [name for name in ("SIM_PORT", "SIM_PHONE", "SIM_PASSWORD") if not env.get(name)]
    if missing:
        usage_error(events, f"missing environment variables: {', '.join(missing)}")
    try:
        port = int(env["SIM_PORT"])
        base64.b64decode(env["SIM_PASSWORD"], validate=True)
    except (ValueError, binascii.Error) as exc:
        usage_error(events, f"bad SIM_PORT or SIM_PASSWORD: {exc}")
    phone = env["SIM_PHONE"]
    if not phone.isdigit():
        usage_error(events, f"SIM_PHONE must be digits only (cc + number), got {phone!r}")
    return Endpoint(env.get("SIM_HOST", "127.0.0.1"), port, phone, env["SIM_PASSWORD"])


def usage_error(events: Events, message: str) -> NoReturn:
    events.emit("error", kind="usage", message=message)
    raise SystemExit(EXIT_USAGE)


def yowsup_version() -> str:
    import yowsup

    return str(yowsup.__version__)


def is_legacy_stack() -> bool:
    """True for yowsup 2.0.x, whose ``YowStack`` takes layer classes (tuples = parallel)
    and does not set default properties; 2.4+ has ``YowStackBuilder``."""
    import yowsup.stacks

    return not hasattr(yowsup.stacks, "YowStackBuilder")


# ----------------------------------------------------------------------------- wire text


def wire_bytes(value: object) -> bytes:
    """The bytes yowsup put on (or took off) the wire for a node's data or attribute.

    yowsup's decoders hand out latin-1 ``str`` (one char per byte); its encoders write a
    ``str`` char by char as bytes; yowsup 2.5.7 turns empty data into a list.
    """
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, list):
        return bytes(value)
    return str(value).encode("latin-1")


def wire_text(value: object) -> str:
    """Wire bytes shown as text: UTF-8 when they are valid UTF-8, else latin-1."""
    raw = wire_bytes(value)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def to_wire_str(text: str) -> str:
    """A text to hand to yowsup so that its encoder writes the UTF-8 bytes of ``text``
    (a ``str`` holding characters above U+00FF would make yowsup's encoder crash)."""
    return text.encode("utf-8").decode("latin-1")


def _children(node: Any) -> Iterator[Any]:
    yield from node.getAllChildren() or ()


def describe(node: Any) -> dict[str, Any]:
    """A ``ProtocolTreeNode`` as flat JSON fields: ``tag``, its attributes, and extras.

    Extras: ``body``/``body_hex`` for a message with a ``<body>``; ``items`` for a receipt
    with a ``<list>``; ``reason`` for a ``<failure>``; ``children`` (child tags) for other
    nodes with children; ``data_hex`` for other nodes with data (nonces, auth blobs).
    """
    fields: dict[str, Any] = {"tag": node.tag}
    for key, value in (node.attributes or {}).items():
        fields.setdefault(str(key), wire_text(value))
    children = list(_children(node))
    body = node.getChild("body") if node.tag == "message" else None
    if body is not None:
        fields["body"] = wire_text(body.data)
        fields["body_hex"] = wire_bytes(body.data).hex()
    elif node.tag == "receipt" and (item_list := node.getChild("list")) is not None:
        fields["items"] = [wire_text(item.getAttributeValue("id")) for item in _children(item_list)]
    elif node.tag == "failure":
        fields["reason"] = children[0].tag if children else None
    elif children:
        fields["children"] = [c.tag for c in children]
    elif body is None and node.data:
        fields["data_hex"] = wire_bytes(node.data).hex()
    return fields


# ----------------------------------------------------------------------------- entities

_MAX_DEPTH = 6


def jsonable(value: object, depth: int = 0) -> Any:
    """What a yowsup entity holds, as JSON: how the tests see what yowsup parsed.

    Text (yowsup's latin-1 ``str`` or bytes) becomes the UTF-8 text it encodes, or
    ``{"hex": ...}`` when it is not UTF-8 (picture data); dicts, lists and tuples keep
    their shape; any other object (a ``Group``) becomes ``{"class": name, **vars}``.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str | bytes | bytearray):
        raw = wire_bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"hex": raw.hex()}
    if depth >= _MAX_DEPTH:
        return repr(value)
    if isinstance(value, dict):
        return {wire_text(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, depth + 1) for v in value]
    if hasattr(value, "__dict__"):
        fields = {k: jsonable(v, depth + 1) for k, v in vars(value).items()}
        return {"class": type(value).__name__, **fields}
    return repr(value)


def entity_fields(entity: Any) -> dict[str, Any]:
    """An entity's ``entity`` event: its class, tag, attributes (``vars``) and ``str()``."""
    try:
        text = str(entity)
    except Exception as exc:  # some yowsup __str__ methods are broken (see README)
        text = f"<str() failed: {type(exc).__name__}: {exc}>"
    return {
        "entity": type(entity).__name__,
        "tag": entity.getTag(),
        "fields": {k: jsonable(v) for k, v in vars(entity).items()},
        "text": text,
    }


def iq_entity_classes() -> dict[str, type[Any]]:
    """The iq entity classes of the protocol layers this process imported, by class name.

    Only ``yowsup.layers.protocol_*.protocolentities`` packages already in ``sys.modules``
    (the ones the stack's layers import) are searched, so nothing broken gets imported.
    """
    from yowsup.layers.protocol_iq.protocolentities import IqProtocolEntity

    found: dict[str, type[Any]] = {}
    for name, module in sorted(sys.modules.items()):
        parts = name.split(".")
        if len(parts) != 4 or parts[:2] != ["yowsup", "layers"] or parts[3] != "protocolentities":
            continue
        if not parts[2].startswith("protocol_") or module is None:
            continue
        for attr, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, IqProtocolEntity):
                found.setdefault(attr, value)
    return found


# ----------------------------------------------------------------------------- the tap


@dataclass
class Session:
    """What the tap has seen of the login, for the exit code."""

    connected: bool = False
    authed: bool = False
    auth_failure: str | None = None


_INCOMING_EVENTS = {"message": "message", "receipt": "receipt", "ack": "ack"}


def make_node_tap(events: Events, session: Session) -> type[Any]:
    """A transparent yowsup layer that reports every node passing through it.

    It sits between yowsup's logger/coder layers and its protocol layers, so it sees the
    ``ProtocolTreeNode`` objects of the stream in both directions (the stream start and the
    preamble are written below it and are not reported). Incoming nodes are reported
    before yowsup handles them, outgoing nodes before they are encoded.
    """
    from yowsup.layers import YowLayer
    from yowsup.layers.network import YowNetworkLayer

    class NodeTap(YowLayer):
        def receive(self, node: Any) -> None:
            fields = describe(node)
            if node.tag == "success":
                session.authed = True
                events.emit("authed", **fields)
            elif node.tag == "failure":
                session.auth_failure = fields.get("reason") or "unknown"
                events.emit("auth_failed", **fields)
            else:
                events.emit(_INCOMING_EVENTS.get(node.tag, "node"), **fields)
            self.toUpper(node)

        def send(self, node: Any) -> None:
            events.emit("sent", **describe(node))
            self.toLower(node)

        def onEvent(self, event: Any) -> bool:
            if event.getName() == YowNetworkLayer.EVENT_STATE_CONNECTED:
                session.connected = True
                events.emit("connected")
            return bool(super().onEvent(event))

        def __str__(self) -> str:
            return "Driver Node Tap"

    return NodeTap


def stack_layers(stack: Any) -> list[Any]:
    """The layer instances of a built ``YowStack``, bottom (network) first."""
    layers: list[Any] = []
    while True:
        try:
            layers.append(stack.getLayer(len(layers)))
        except IndexError:
            return layers


def insert_below_protocol_layers(stack: Any, layer: Any) -> None:
    """Splice ``layer`` into a built stack right under its parallel protocol layer.

    Uses only ``YowStack.getLayer`` and ``YowLayer.setLayers``/``setStack``; the stack's
    own layers are untouched. The parallel layer's sublayers send and receive through the
    parallel layer, so they pick up the new neighbour too.
    """
    from yowsup.layers import YowParallelLayer

    layers = stack_layers(stack)
    index = next(i for i, x in enumerate(layers) if isinstance(x, YowParallelLayer))
    below, above = layers[index - 1], layers[index]
    below_below = layers[index - 2] if index >= 2 else None
    above_above = layers[index + 1] if index + 1 < len(layers) else None
    layer.setStack(stack)
    below.setLayers(layer, below_below)
    layer.setLayers(above, below)
    above.setLayers(above_above, layer)


def network_layer(stack: Any) -> Any:
    return stack.getLayer(0)


def network_open(stack: Any) -> bool:
    """Whether the stack's socket is still registered with asyncore (open or connecting)."""
    import asyncore

    net = network_layer(stack)
    return any(d is net for d in list(asyncore.socket_map.values()))


def run_detached(stack: Any) -> int:
    """Run the callbacks yowsup 2.4+ queued with ``YowStack.execDetached`` (events emitted
    with ``detached=True``, e.g. the network layer's ``disconnected``); how many ran."""
    import queue

    pending = getattr(type(stack), "_YowStack__detachedQueue", None)
    count = 0
    while pending is not None:
        try:
            callback = pending.get(False)
        except queue.Empty:
            break
        callback()
        count += 1
    return count


def disconnect(stack: Any, reason: str) -> None:
    """Ask the stack to close its connection, as a yowsup application would."""
    from yowsup.layers import YowLayerEvent
    from yowsup.layers.network import YowNetworkLayer

    if network_open(stack):
        stack.broadcastEvent(YowLayerEvent(YowNetworkLayer.EVENT_STATE_DISCONNECT, reason=reason))


def finish(events: Events, session: Session, *, stopped_by: str | None = None) -> NoReturn:
    """Emit the last event and exit with the code the README documents."""
    if stopped_by is not None:
        events.emit("stopped", reason=stopped_by)
        raise SystemExit(EXIT_OK)
    if session.auth_failure is not None:
        events.emit("disconnected", reason="auth_failed")
        raise SystemExit(EXIT_AUTH_FAILED)
    if not session.authed:
        events.emit("disconnected", reason="closed before login")
        raise SystemExit(EXIT_NO_SESSION)
    events.emit("disconnected", reason="closed")
    raise SystemExit(EXIT_OK)


# ----------------------------------------------------------------------------- HTTPS workarounds

SERVICE_HOSTS = ("v.whatsapp.net", "mmg.whatsapp.net", "mms.whatsapp.net")
"""Hosts yowsup hard-codes (registration: ``v.``) or gets in media URLs (``mmg.``)."""


def redirect_service_hosts(http_port: int, host: str = "127.0.0.1") -> None:
    """Point yowsup's hard-coded HTTPS hosts at the simulator, inside this process only.

    yowsup reaches ``v.whatsapp.net`` (registration) and the media host of an upload URL
    on port 443, always. The driver does what a hosts-file entry and a port forward would
    do: ``socket.getaddrinfo`` answers those names with ``host`` and ``http_port``, and a
    ``socket.connect`` to one of them (or to ``host``) on port 443 goes to ``http_port``.
    yowsup's code is untouched; TLS and certificate checks happen as usual (trust comes
    from ``SSL_CERT_FILE``, the CA that ``simulator serve --tls`` wrote).
    """
    import socket

    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    redirected = {*SERVICE_HOSTS, host}

    def getaddrinfo(name: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if name in SERVICE_HOSTS:
            name, port = host, http_port if int(port or 443) == 443 else port
        return real_getaddrinfo(name, port, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] in redirected and address[1] == 443:
            address = (host, http_port)
        real_connect(sock, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect


def import_without_async_keyword(module_name: str) -> Any:
    """Import a yowsup module that uses ``async`` as a name (a SyntaxError since Python
    3.7: 2.4.102 and 2.5.7 ``protocol_media/mediauploader.py``), with that one word
    renamed ``async_``. The module's code is otherwise as shipped."""
    import importlib.util
    import re
    import sys

    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise ImportError(module_name)
    with open(spec.origin, encoding="utf-8") as source_file:
        source = re.sub(r"\basync\b", "async_", source_file.read())
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, spec.origin, "exec"), module.__dict__)
    sys.modules[module_name] = module
    return module
