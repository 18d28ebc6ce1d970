"""The exception tree of the simulator, drawn once.

::

    SimulatorError                    root of everything the simulator raises on purpose
    ├── ProtocolError                 the wire layer (simulator.wire); not raised directly
    │   ├── LocalProtocolError        our own code misused the wire API (a bug on this side)
    │   └── RemoteProtocolError       the peer sent something the protocol forbids;
    │                                 carries ``offset`` and ``reply_hint`` (the node to answer)
    ├── StanzaError                   a server flow refuses a request; becomes <iq type="error">
    ├── ServerBug                     a handler or session of the server crashed (a bug here);
    │                                 raised by open_server in strict mode, after the block
    ├── ClientError                   the client library (simulator.client)
    │   ├── IqError                   the server answered an iq with type="error"; keeps the node
    │   ├── IqTimeout                 no answer to an iq in time
    │   ├── LoginFailed               the server refused the login (<failure>)
    │   ├── ConnectionClosed          the connection ended (stream:error, EOF, local close)
    │   ├── HttpError                 an HTTP request (media, registration) failed
    │   │                             (simulator.client._http)
    │   └── RegistrationFailed        the registration endpoint said no; status, reason,
    │       │                         param, retry_after (simulator.client.registration)
    │       ├── CodeRequestFailed     /v2/code (…TooRecent, …TooManyGuesses below it)
    │       ├── CodeRegisterFailed    /v2/register
    │       └── CredentialsBad        /v2/exist
    ├── ScenarioError                 scenario files and runs (simulator.scenario)
    │   ├── ScenarioSyntaxError       a file is malformed; lists every problem with file and line
    │   └── StepFailed                an expectation was not met during a run
    └── FatalError                    the CLI gives up with one readable sentence (exit 1)

Each class says whose fault the error is and what the caller should do about it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from simulator.wire.node import Node

__all__ = [
    "ClientError",
    "ConnectionClosed",
    "FatalError",
    "IqError",
    "IqTimeout",
    "LocalProtocolError",
    "LoginFailed",
    "ProtocolError",
    "RemoteProtocolError",
    "ScenarioError",
    "ScenarioSyntaxError",
    "ServerBug",
    "SimulatorError",
    "StanzaError",
    "StepFailed",
]


class SimulatorError(Exception):
    """Root of every exception the simulator raises on purpose."""


class ProtocolError(SimulatorError):
    """Something broke the FunXMPP wire protocol. Never raised directly.

    Catch :class:`LocalProtocolError` (a bug on our side) or :class:`RemoteProtocolError`
    (the peer's fault) instead.
    """

    def __init__(self, msg: str) -> None:
        if type(self) is ProtocolError:
            raise TypeError("raise LocalProtocolError or RemoteProtocolError, not ProtocolError")
        super().__init__(msg)


class LocalProtocolError(ProtocolError):
    """Our own code asked the wire layer for something the protocol does not allow.

    For example sending a node before the login finished, or encoding a string longer than
    a frame can hold. This is a bug in the caller; fix the call.
    """


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes or a node the protocol forbids.

    ``offset`` is the position of the offending byte in the stream received so far (or
    ``None`` when the fault is not about one byte). ``reply_hint`` is the node to send
    back before closing the connection (a ``stream:error`` or a ``failure``), or ``None``
    when the protocol has no answer and the connection should just be closed.
    """

    def __init__(
        self, msg: str, *, offset: int | None = None, reply_hint: Node | None = None
    ) -> None:
        super().__init__(msg)
        self.offset = offset
        self.reply_hint = reply_hint


class StanzaError(SimulatorError):
    """A server flow refuses a request.

    Raised inside a handler; the router answers the peer with
    ``<iq type="error"><error code=".." text=".."/></iq>``. Not a bug anywhere: it is how
    the fake service says no, exactly as the real one did.
    """

    def __init__(self, code: int, text: str, *, backoff: int | None = None) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text
        self.backoff = backoff


class ServerBug(SimulatorError):
    """The server crashed while handling a stanza (or running a session): a bug in the
    simulator, not in the peer. Each crash only failed its stanza (or ended its session);
    in strict mode ``open_server`` raises this at the end of its block so the bug cannot
    hide. ``bugs`` holds the reports, each with the stanza and the traceback."""

    def __init__(self, bugs: Sequence[object]) -> None:
        self.bugs = list(bugs)
        count = f"{len(self.bugs)} server bugs" if len(self.bugs) != 1 else "a server bug"
        super().__init__(f"{count} (the other sessions ran on):\n\n" + "\n\n".join(map(str, bugs)))


class ClientError(SimulatorError):
    """Raised by the client library (:mod:`simulator.client`)."""


class IqError(ClientError):
    """The server answered an iq with ``type="error"``. ``node`` is the whole answer."""

    def __init__(self, node: Node) -> None:
        error = node.child("error")
        code = error.get("code", "") if error is not None else ""
        text = error.get("text", "") if error is not None else ""
        super().__init__(f"iq {node.get('id')!r} failed: {code} {text}".rstrip())
        self.node = node
        # At most 9 digits: int() of a 5,000-digit string raises (the error codes are 3).
        self.code = int(code) if code.isascii() and code.isdigit() and len(code) < 10 else None
        self.text = text


class IqTimeout(ClientError):
    """No answer to an iq arrived within the timeout. The request may still be answered later."""


class LoginFailed(ClientError):
    """The server refused the login with ``<failure><REASON/></failure>``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"login refused: {reason}")
        self.reason = reason


class ConnectionClosed(ClientError):
    """The connection is gone: the server closed it (maybe after a ``stream:error``), the
    transport broke, or this side closed it. ``reason`` names the stream error, if any."""

    def __init__(self, msg: str, *, reason: str | None = None) -> None:
        super().__init__(msg)
        self.reason = reason


class ScenarioError(SimulatorError):
    """A scenario could not be loaded or did not pass."""


class ScenarioSyntaxError(ScenarioError):
    """A scenario file is malformed. ``problems`` lists every one, each with file and line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StepFailed(ScenarioError):
    """A step of a scenario run did not do what the file said. The message is the report."""


class FatalError(SimulatorError):
    """The command line gives up. The message is one readable sentence; the exit code is 1."""
