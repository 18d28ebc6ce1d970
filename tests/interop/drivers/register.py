"""yowsup's own registration requests against the simulator's HTTPS side.

    register.py code             WACodeRequest(cc, number).send()      -> {"event": "code"}
    register.py register CODE    WARegRequest(cc, number, CODE).send() -> {"event": "registered"}

Environment: ``SIM_CC`` and ``SIM_NUMBER`` (the phone split as yowsup takes it),
``SIM_HTTP_PORT`` (the simulator's HTTPS port, which ``v.whatsapp.net:443`` is redirected
to in this process: ``yowdriver.redirect_service_hosts``), ``SSL_CERT_FILE`` (the CA that
``simulator serve --tls`` wrote; ``http.client`` verifies the certificate against it and
the host name ``v.whatsapp.net``), ``HOME`` (yowsup keeps the device identity of the number
in ``~/.yowsup``, and sends it with both requests). One JSON line on stdout: the event
with ``result``, yowsup's parsed answer (its ``pvars``, the JSON values as parsed).
"""

from __future__ import annotations

import os
import sys
import traceback

import yowdriver as yd


def main(argv: list[str]) -> None:
    yd.prepare_process()
    events = yd.Events()
    env = os.environ
    missing = [n for n in ("SIM_CC", "SIM_NUMBER", "SIM_HTTP_PORT") if not env.get(n)]
    if missing or not argv or argv[0] not in ("code", "register"):
        yd.usage_error(events, f"usage: register.py code | register CODE; missing {missing}")
    yd.redirect_service_hosts(int(env["SIM_HTTP_PORT"]))
    from yowsup.registration import WACodeRequest, WARegRequest

    cc, number = env["SIM_CC"], env["SIM_NUMBER"]
    if argv[0] == "code":
        result = WACodeRequest(cc, number).send()
        events.emit("code", result=result)
    else:
        result = WARegRequest(cc, number, argv[1]).send()
        events.emit("registered", result=result)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        raise SystemExit(yd.EXIT_CRASH) from None
