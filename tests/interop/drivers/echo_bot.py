"""Run yowsup's own demo echo bot against the simulator: the "yowsup is the bot" side.

The stack is ``yowsup.demos.echoclient.YowsupEchoStack`` exactly as shipped, built the way
its demo builds it (2.4+: with ``encryptionEnabled=False``, i.e. without the axolotl
layer) and started with its own ``start()``. The only change is the endpoint: the stack
property ``YowNetworkLayer.PROP_ENDPOINT`` (both 2.0.x and 2.4+ take the endpoint from it;
the demo stack sets it to the real servers when it is built, so it is overwritten after).

To report what happens, a transparent layer is spliced in between yowsup's protocol layers
and its logger/coder layers (see ``yowdriver.make_node_tap``); it forwards every node
unchanged. Events are JSON lines on stdout; yowsup's own prints go to stderr.

Environment: SIM_HOST (default 127.0.0.1), SIM_PORT, SIM_PHONE (digits), SIM_PASSWORD
(base64). Set HOME to a scratch folder: yowsup 2.4+ keeps its fast-login nonce in
``~/.yowsup/<phone>/nonce``.

Exit codes (``yowdriver.EXIT_*``): 0 the server closed the session after login, or
SIGTERM/SIGINT; 3 login refused; 4 no session (connection failed or closed before login);
5 the demo cannot be imported on this Python (yowsup 2.5.7); 2 bad environment; 1 crash.
"""

from __future__ import annotations

import inspect
import sys
import traceback

import yowdriver as yd


def main() -> None:
    yd.prepare_process()
    events = yd.Events()
    endpoint = yd.read_endpoint(events)
    version = yd.yowsup_version()
    try:
        from yowsup.demos.echoclient import YowsupEchoStack
    except SyntaxError as exc:
        # yowsup 2.5.7: the demo's EchoLayer is a YowInterfaceLayer, whose module does not
        # compile on Python >= 3.7 ("async" used as a keyword argument).
        where = f"{exc.filename}, line {exc.lineno}"
        events.emit("unsupported", yowsup=version, reason=f"SyntaxError: {exc.msg} ({where})")
        raise SystemExit(yd.EXIT_UNSUPPORTED) from None

    from yowsup.layers.network import YowNetworkLayer

    if "encryptionEnabled" in inspect.signature(YowsupEchoStack).parameters:
        echo = YowsupEchoStack(endpoint.credentials, encryptionEnabled=False)
    else:
        echo = YowsupEchoStack(endpoint.credentials)
    echo.stack.setProp(YowNetworkLayer.PROP_ENDPOINT, endpoint.address)

    session = yd.Session()
    yd.insert_below_protocol_layers(echo.stack, yd.make_node_tap(events, session)())
    events.emit("ready", driver="echo_bot", yowsup=version, endpoint=list(endpoint.address))

    try:
        echo.start()
    except yd.Stop as stop:
        yd.disconnect(echo.stack, "stopped")
        yd.finish(events, session, stopped_by=str(stop))
    except OSError as exc:
        if session.authed:
            raise
        events.emit("error", kind="network", message=str(exc))
    except Exception as exc:
        if session.auth_failure is None:
            raise
        # The stock start() catches yowsup's AuthError and prints ``e.message``, which
        # Python 3 exceptions do not have: on a refused login it raises AttributeError.
        print(f"YowsupEchoStack.start() ended with {exc!r}", file=sys.stderr)
    yd.finish(events, session)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except yd.Stop:  # signalled before the session started
        raise SystemExit(yd.EXIT_OK) from None
    except BaseException:
        traceback.print_exc()
        raise SystemExit(yd.EXIT_CRASH) from None
