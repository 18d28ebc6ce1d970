"""A/B: one probe in two checkouts, interleaved, medians and the factor B/A.

    .venv/bin/python bench/ab.py OLD_CHECKOUT NEW_CHECKOUT [--rounds 5] [probe ...]

Each round runs every probe once in each checkout (the order alternates from round to
round), every run in a fresh interpreter whose ``simulator`` package and ``bench``
folder are the checkout's own. A checkout can be any folder holding the project, for
example ``git archive <commit> | tar -x -C /tmp/old``.

The echo probes count **CPU time** (``time.process_time``) instead of wall time: the
simulator, its clients and the peers' sockets all live in the one process, so the
process's CPU time is its cost, and it does not move when another job takes the
machine's cores (wall time on a shared machine does, by 2x). The session probes report
memory per session (a count, not a time) and login rates (wall time; noisy).

Probes: ``echo-tcp`` / ``echo-tcp-pipe`` (TCP echo, sequential / 64 in flight, round
trips per CPU second), ``echo-tcp-proc`` / ``echo-tcp-proc-pipe`` (the same with the
server in a ``simulator serve`` process of its own: round trips per CPU second of both
processes), ``echo-node`` / ``echo-node-pipe`` (in-process echo, sequential /
64 in flight), ``fan-out`` (deliveries per CPU second to 256 group members),
``sessions-node`` / ``sessions-tcp`` (KiB per idle session over 3,000 sessions, or
``--sessions N``; the TCP one also gives the login rates of the first and the last
tenth), ``sessions-tcp-cpu`` (the same, the login
rates per CPU second), ``sessions-server`` (KiB per idle session of the server
process alone, the clients in another process, and the login rates, wall time),
``sessions-server-cpu`` (the same from this folder's probe, which adds the CPU
milliseconds per login of the clients' process and of the server's).
``start-pass`` / ``start-import`` / ``start-validate`` / ``start-run`` (milliseconds of CPU of
``python -c pass``, of importing the scenario engine, of ``simulator validate`` and
``simulator run`` of one scenario file) and ``suite-run`` / ``suite-pytest-n0`` /
``suite-pytest-n2`` (the same for 1,000 files: ``simulator run DIR``, pytest without and
with two xdist workers; CPU of the whole process tree) count CPU time too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_ECHO = (
    "import sys, time, types; sys.path.insert(0, 'bench'); import probes_trio as t; "
    "t.time = types.SimpleNamespace(perf_counter=time.process_time); "
    "print(json.dumps({{'rate': t.echo({transport!r}, {rounds}, pipelined={pipelined})}}))"
)
_ECHO_PROC = (
    # This probe's own code (from this folder) drives either checkout's server and clients,
    # so a checkout older than the probe can be measured too.
    f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
    "import probes_trio as t; "
    "print(json.dumps({{'rate': t.echo_server_process(1500, pipelined={pipelined}, cpu=True)}}))"
)
_SESSIONS = (
    "import sys, time, types; sys.path.insert(0, 'bench'); import probes_sessions as p; "
    "{clock}print(json.dumps(p.simulator_sessions({transport!r}, SESSIONS)))"
)
_START = (
    # This folder's probe, so that a checkout older than it can be measured too; the
    # command it times imports the checkout's simulator (PYTHONPATH).
    f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
    "import probes_startup as s; print(json.dumps(s.cpu_probe({what!r}, {files})))"
)
_CPU_CLOCK = "p.time = types.SimpleNamespace(perf_counter=time.process_time); "
PROBES = {
    "echo-tcp": _ECHO.format(transport="tcp", rounds=1500, pipelined=False),
    "echo-tcp-pipe": _ECHO.format(transport="tcp", rounds=1500, pipelined=True),
    "echo-tcp-proc": _ECHO_PROC.format(pipelined=False),
    "echo-tcp-proc-pipe": _ECHO_PROC.format(pipelined=True),
    "echo-node": _ECHO.format(transport="node", rounds=3000, pipelined=False),
    "echo-node-pipe": _ECHO.format(transport="node", rounds=3000, pipelined=True),
    "fan-out": (
        "import sys, time, types; sys.path.insert(0, 'bench'); import probes_trio as t; "
        "t.time = types.SimpleNamespace(perf_counter=time.process_time); "
        "print(json.dumps({'rate': t.group_fan_out(256, 20)}))"
    ),
    "sessions-node": _SESSIONS.format(transport="node", clock=""),
    "sessions-tcp": _SESSIONS.format(transport="tcp", clock=""),
    "sessions-tcp-cpu": _SESSIONS.format(transport="tcp", clock=_CPU_CLOCK),
    "start-pass": _START.format(what="pass", files=1),
    "start-import": _START.format(what="import", files=1),
    "start-validate": _START.format(what="validate", files=1),
    "start-run": _START.format(what="run", files=1),
    "suite-run": _START.format(what="suite", files=1000),
    "suite-pytest-n0": _START.format(what="pytest-n0", files=1000),
    "suite-pytest-n2": _START.format(what="pytest-n2", files=1000),
    "sessions-server": (
        "import sys; sys.path.insert(0, 'bench'); import probes_sessions as p; "
        "print(json.dumps(p.server_end_sessions('simulator', SESSIONS)))"
    ),
    "sessions-server-cpu": (
        # This folder's probe (its server child too) drives either checkout's simulator,
        # so that a checkout older than the probe gives the CPU per login of each process.
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
        "import probes_sessions as p; "
        "print(json.dumps(p.server_end_sessions('simulator', SESSIONS)))"
    ),
}


def run(checkout: Path, probe: str, sessions: int = 3000) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    code = PROBES[probe].replace("SESSIONS", str(sessions))
    result = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise SystemExit(f"{probe} in {checkout}: {lines[-1] if lines else 'failed'}")
    values: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("a", type=Path, help="the checkout measured first (before)")
    parser.add_argument("b", type=Path, help="the checkout compared with it (after)")
    parser.add_argument("probes", nargs="*", default=["echo-tcp", "echo-tcp-pipe"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--sessions", type=int, default=3000, help="sessions opened by the session probes"
    )
    args = parser.parse_intermixed_args(argv)
    unknown = [p for p in args.probes if p not in PROBES]
    if unknown:
        parser.error(f"unknown probe {unknown[0]!r}; the probes are {', '.join(PROBES)}")
    a, b = args.a.resolve(), args.b.resolve()
    samples: dict[tuple[Path, str], list[dict[str, float]]] = {}
    for round_ in range(args.rounds):
        for probe in args.probes:
            for checkout in (a, b) if round_ % 2 == 0 else (b, a):
                sample = run(checkout, probe, args.sessions)
                samples.setdefault((checkout, probe), []).append(sample)
    for probe in args.probes:
        for key in samples[(a, probe)][0]:
            if key == "count":
                continue
            med_a = statistics.median(s[key] for s in samples[(a, probe)])
            med_b = statistics.median(s[key] for s in samples[(b, probe)])
            print(f"{probe} {key}: A {med_a:,.1f}  B {med_b:,.1f}  B/A {med_b / med_a:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
