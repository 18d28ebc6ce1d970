"""``simulator control``: drive a running ``simulator serve --control-port N``.

    simulator control --port N fault add --drop 'message from alice' --times 2
    simulator control --port N fault add --delay 'receipt to bob' --seconds 30
    simulator control --port N fault add --iq-error '<iq xmlns="w:g2"/>' --code 503
    simulator control --port N fault add --refuse-login bob --reason not-authorized --for 5m
    simulator control --port N fault list | clear [ID] | release ID
    simulator control --port N restart [--goodbye]
    simulator control --port N session end alice --reason ack | session disconnect alice
    simulator control --port N account expire|renew|suspend alice [--for 10m]
    simulator control --port N state | clock | log

A fault's selector is ``WHAT [from|to|of PARTY]``: WHAT is a stanza tag (``message``), a
node pattern in the tx/rx notation (``'<iq xmlns="urn:xmpp:whatsapp:sync"/>'``) or
``anything``; ``from PARTY`` selects what PARTY sends (to the server), ``to PARTY`` what
the server sends PARTY, ``of PARTY`` both. For login and network faults the selector is
just the party (or ``anyone``). PARTY is a phone number, a JID or a push name.

Answers are printed as one line per fault, or as JSON (``state``, ``clock``, ``log``);
an error is one sentence on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import http.client
import json
from typing import TYPE_CHECKING, Final

from simulator.errors import FatalError
from simulator.server.fault_spec import ACTIONS, parse_selector
from simulator.server.faults import FaultError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["add_parser", "run"]

NAME: Final = "control"
HELP: Final = "drive a running server's control API (faults, restart, state)"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(NAME, help=HELP, description=__doc__.split("\n\n")[0])
    parser.epilog = __doc__.split("\n\n", 1)[1]
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="the --control-port of serve")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fault = commands.add_parser("fault", help="add, list, clear or release faults")
    fault_commands = fault.add_subparsers(dest="fault_command", required=True, metavar="ACTION")
    add = fault_commands.add_parser("add", help="set a fault")
    which = add.add_mutually_exclusive_group(required=True)
    for action in ACTIONS:
        which.add_argument(
            f"--{action}", metavar="SELECTOR", dest=f"action_{action}", help=argparse.SUPPRESS
        )
    add.add_argument("--times", type=int, help="only the first N matching stanzas")
    add.add_argument("--for", dest="for_", metavar="DURATION", help="e.g. 90s, 5m, 1h")
    add.add_argument("--seconds", metavar="DURATION", help="delay, latency, hold: how long")
    add.add_argument("--code", type=int, help="iq-error: the error code")
    add.add_argument("--text", help="iq-error, stream-error: the text")
    add.add_argument("--backoff", type=int, help="iq-error, throttle: backoff seconds")
    add.add_argument("--reason", help="stream-error, refuse-login: the reason")
    add.add_argument("--count", type=int, help="reorder: stanzas per reversed batch")
    add.add_argument("--size", type=int, help="split-writes: bytes per write")
    add.add_argument("--seed", type=int, default=0, help="random: the seed")
    add.add_argument(
        "--rate", action="append", default=[], metavar="ACTION=P", help="random: e.g. drop=0.1"
    )
    fault_commands.add_parser("list", help="the faults set")
    clear = fault_commands.add_parser("clear", help="clear one fault, or all")
    clear.add_argument("id", type=int, nargs="?")
    release = fault_commands.add_parser("release", help="let a fault's held stanzas go")
    release.add_argument("id", type=int)

    restart = commands.add_parser("restart", help="drop every session; the state survives")
    restart.add_argument("--goodbye", action="store_true", help="send system-shutdown first")
    session = commands.add_parser("session", help="end a live session now")
    session.add_argument("what", choices=["end", "disconnect"])
    session.add_argument("party")
    session.add_argument("--reason", default="system-shutdown")
    session.add_argument("--text")
    account = commands.add_parser("account", help="expire, renew or suspend an account")
    account.add_argument("what", choices=["expire", "renew", "suspend"])
    account.add_argument("party")
    account.add_argument("--for", dest="for_", metavar="DURATION")
    for name in ("state", "clock", "log"):
        commands.add_parser(name, help=f"print the server's {name} as JSON")
    parser.set_defaults(run=run)


def _fault_spec(args: argparse.Namespace) -> dict[str, object]:
    action = next(a for a in ACTIONS if getattr(args, f"action_{a}") is not None)
    spec: dict[str, object] = {"action": action}
    try:
        spec.update(parse_selector(action, getattr(args, f"action_{action}")))
    except FaultError as exc:
        raise FatalError(str(exc)) from None
    for name in ("times", "seconds", "code", "text", "backoff", "reason", "count", "size"):
        value = getattr(args, name)
        if value is not None:
            spec[name] = value
    if args.for_ is not None:
        spec["for"] = args.for_
    if action == "random":
        spec["seed"] = args.seed
        rates: dict[str, float] = {}
        for item in args.rate:
            name, _, rate = item.partition("=")
            try:
                rates[name.strip()] = float(rate)
            except ValueError:
                raise FatalError(f"--rate takes ACTION=PROBABILITY, not {item!r}") from None
        spec["rates"] = rates
    return spec


def request(
    host: str, port: int, method: str, path: str, body: Mapping[str, object] | None = None
) -> dict[str, object]:
    """One call of the control API; an error answer or no answer is a ``FatalError``."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise FatalError(f"cannot reach the control API on {host}:{port}: {reason}") from None
    finally:
        connection.close()
    try:
        answer = json.loads(raw)
    except ValueError:
        raise FatalError(f"{host}:{port} did not answer in JSON: is it a control port?") from None
    if not isinstance(answer, dict):
        raise FatalError(f"{host}:{port} answered {raw[:80]!r}, not a JSON object")
    if response.status >= 400:
        raise FatalError(f"the server refused: {answer.get('error', response.reason)}")
    return answer


def _fault_line(fault: object) -> str:
    assert isinstance(fault, dict)
    return f"fault #{fault['id']}: {fault['description']} ({fault['hits']} hits)"


def run(args: argparse.Namespace) -> int:
    def call(method: str, path: str, body: Mapping[str, object] | None = None) -> dict[str, object]:
        return request(args.host, args.port, method, path, body)

    if args.command == "fault":
        if args.fault_command == "add":
            print(_fault_line(call("POST", "/v1/faults", _fault_spec(args))["fault"]))
        elif args.fault_command == "list":
            faults = call("GET", "/v1/faults")["faults"]
            assert isinstance(faults, list)
            for fault in faults:
                print(_fault_line(fault))
        elif args.fault_command == "clear":
            path = "/v1/faults" if args.id is None else f"/v1/faults/{args.id}"
            print(f"cleared {call('DELETE', path)['cleared']}")
        else:
            print(f"released {call('POST', f'/v1/faults/{args.id}/release')['released']}")
    elif args.command == "restart":
        dropped = call("POST", "/v1/restart", {"goodbye": args.goodbye})["dropped"]
        print(f"restarted: {dropped} connections dropped")
    elif args.command == "session":
        body = {"reason": args.reason, "text": args.text} if args.what == "end" else {}
        ended = call("POST", f"/v1/sessions/{args.party}/{args.what}", body)["ended"]
        print("ended" if ended else f"{args.party} has no live session")
    elif args.command == "account":
        body = {"for": args.for_} if args.for_ is not None else {}
        answer = call("POST", f"/v1/accounts/{args.party}/{args.what}", body)
        print(_fault_line(answer["fault"]) if "fault" in answer else answer["status"])
    else:
        print(json.dumps(call("GET", f"/v1/{args.command}"), indent=2))
    return 0
