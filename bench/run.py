"""Every benchmark of the simulator in one table, each figure next to its baselines.

Run from the checkout: ``.venv/bin/python bench/run.py`` (full, a few minutes) or
``.venv/bin/python bench/run.py --short`` (under half a minute; what CI runs so the bench
cannot rot). Figures are medians of interleaved repetitions (every probe once, then every
probe again...), so a noisy neighbour spreads over all of them instead of one. The last
column divides the simulator's figure by each baseline measured in the same run.

Peers that are not installed are printed as ``not installed: <why>``; nothing is
installed by this script (see bench/README.md). The exit status is 1 when a probe failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script or imported by the tests
    sys.path.insert(0, str(HERE))

import peers  # noqa: E402
import probes_startup  # noqa: E402

Values = dict[str, float]


@dataclass(frozen=True)
class Sizes:
    """How much work each probe does in one mode."""

    echo: int
    echo_tcp: int
    bare: int
    fan_out_messages: int
    sessions: int
    suite_files: int
    reps: int
    slow_reps: int


SHORT = Sizes(
    echo=300,
    echo_tcp=200,
    bare=5_000,
    fan_out_messages=4,
    sessions=1_000,
    suite_files=10,
    reps=3,
    slow_reps=1,
)
FULL = Sizes(
    echo=3_000,
    echo_tcp=1_500,
    bare=50_000,
    fan_out_messages=40,
    sessions=10_000,
    suite_files=1_000,
    reps=5,
    slow_reps=1,
)
FAN_OUT_MEMBERS = 256


@dataclass
class Probe:
    """One measurement, repeated up to ``reps`` times; each run returns named values."""

    name: str
    run: Callable[[], Values]
    reps: int
    missing: str | None = None
    samples: list[Values] = field(default_factory=list)
    error: str | None = None

    def median(self, key: str) -> float:
        return statistics.median(sample[key] for sample in self.samples)


@dataclass(frozen=True)
class Figure:
    """A value of a probe, as the table shows it."""

    label: str
    probe: str
    key: str
    unit: str


@dataclass(frozen=True)
class Row:
    what: str
    simulator: Figure
    baselines: tuple[Figure, ...] = ()


# ------------------------------------------------------------------ child processes


def child(kind: str, *args: str) -> Values:
    """Run ``run.py --child kind args`` in a fresh interpreter; its JSON answer."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", kind, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exit status {result.returncode}")
    values: Values = json.loads(result.stdout.strip().splitlines()[-1])
    return values


def child_main(kind: str, args: list[str]) -> Values:
    """What a child process measures (imports only what that probe needs)."""
    if kind == "sessions":
        import probes_sessions

        who, transport, count = args
        measure = (
            probes_sessions.simulator_sessions
            if who == "simulator"
            else probes_sessions.bare_sessions
        )
        return measure(transport, int(count))
    if kind == "server-end":
        import probes_sessions

        who, count = args
        return probes_sessions.server_end_sessions(who, int(count))
    if kind == "dpytest":
        return {"rate": peers.dpytest_echo(int(args[0]))}
    if kind == "prosody":
        return peers.slixmpp_echo(int(args[0]), int(args[1]))
    raise SystemExit(f"unknown child probe {kind!r}")


# ------------------------------------------------------------------ the plan


def not_installed(why: str | None) -> str | None:
    return f"not installed: {why}" if why else None


def trio_probe(name: str, reps: int, call: Callable[[], float]) -> Probe:
    return Probe(name, lambda: {"rate": call()}, reps)


def plan(
    sizes: Sizes, suite: Path, prosody_port: int | None, prosody_missing: str | None
) -> tuple[list[Probe], list[Row]]:
    import probes_trio as t

    n, ntcp, bare, reps, slow = sizes.echo, sizes.echo_tcp, sizes.bare, sizes.reps, sizes.slow_reps
    members, messages, sessions = FAN_OUT_MEMBERS, sizes.fan_out_messages, sizes.sessions
    probes = [
        trio_probe("echo-node", reps, lambda: t.echo("node", n, pipelined=False)),
        trio_probe("echo-node-pipe", reps, lambda: t.echo("node", n, pipelined=True)),
        trio_probe("mem-ping-pong", reps, lambda: t.memory_ping_pong(bare)),
        trio_probe("mem-relay", reps, lambda: t.memory_relay(bare)),
        Probe(
            "dpytest",
            lambda: child("dpytest", str(n)),
            reps,
            not_installed(peers.missing_dpytest()),
        ),
        trio_probe("echo-tcp", reps, lambda: t.echo("tcp", ntcp, pipelined=False)),
        trio_probe("echo-tcp-pipe", reps, lambda: t.echo("tcp", ntcp, pipelined=True)),
        trio_probe("echo-tcp-proc", reps, lambda: t.echo_server_process(ntcp, pipelined=False)),
        trio_probe("echo-tcp-proc-pipe", reps, lambda: t.echo_server_process(ntcp, pipelined=True)),
        trio_probe("tcp-ping-pong", reps, lambda: t.tcp_ping_pong(bare // 2)),
        trio_probe("tcp-pipe", reps, lambda: t.tcp_pipelined(bare)),
        Probe(
            "prosody",
            lambda: child("prosody", str(prosody_port), str(ntcp)),
            reps,
            not_installed(prosody_missing),
        ),
        trio_probe("fan-out", reps, lambda: t.group_fan_out(members, messages)),
        trio_probe("bare-fan-out", reps, lambda: t.bare_fan_out(members, messages * 25)),
        Probe("hops", lambda: {"hops": t.echo_hops()}, 1),
        Probe("sessions-node", lambda: child("sessions", "simulator", "node", str(sessions)), slow),
        Probe("sessions-tcp", lambda: child("sessions", "simulator", "tcp", str(sessions)), slow),
        Probe("bare-tasks", lambda: child("sessions", "bare", "node", str(sessions)), slow),
        Probe("bare-tcp", lambda: child("sessions", "bare", "tcp", str(sessions)), slow),
        Probe("server-end", lambda: child("server-end", "simulator", str(sessions)), slow),
        Probe("bare-server-end", lambda: child("server-end", "bare", str(sessions)), slow),
        Probe("python-pass", lambda: {"ms": probes_startup.python_pass() * 1e3}, reps),
        Probe("import", lambda: {"ms": probes_startup.import_scenario() * 1e3}, reps),
        Probe("validate", lambda: {"ms": probes_startup.validate_one(suite) * 1e3}, reps),
        Probe("run-one", lambda: {"ms": probes_startup.run_one(suite) * 1e3}, reps),
        Probe("suite-serial", lambda: {"s": probes_startup.run_suite(suite)}, slow),
        Probe("pytest-n0", lambda: {"s": probes_startup.pytest_suite(suite, 0)}, slow),
        Probe("pytest-n2", lambda: {"s": probes_startup.pytest_suite(suite, 2)}, slow),
    ]
    files = sizes.suite_files
    k = f"{sessions // 1000}k"
    rows = [
        Row(
            "in-process echo (acks + receipts), sequential",
            Figure("simulator", "echo-node", "rate", "rt/s"),
            (
                Figure("trio memory-channel ping-pong", "mem-ping-pong", "rate", "rt/s"),
                Figure("dpytest echo (no acks, no receipts)", "dpytest", "rate", "rt/s"),
                Figure("Prosody + slixmpp, loopback", "prosody", "sequential", "rt/s"),
            ),
        ),
        Row(
            "in-process echo, pipelined",
            Figure("simulator", "echo-node-pipe", "rate", "/s"),
            (Figure("trio channel relay", "mem-relay", "rate", "/s"),),
        ),
        Row(
            "TCP echo with RC4+HMAC, sequential",
            Figure("simulator", "echo-tcp", "rate", "rt/s"),
            (
                Figure("trio TCP ping-pong", "tcp-ping-pong", "rate", "rt/s"),
                Figure("Prosody + slixmpp", "prosody", "sequential", "rt/s"),
            ),
        ),
        Row(
            "TCP echo, pipelined",
            Figure("simulator", "echo-tcp-pipe", "rate", "/s"),
            (
                Figure("trio TCP pipelined", "tcp-pipe", "rate", "/s"),
                Figure("Prosody + slixmpp pipelined", "prosody", "pipelined", "/s"),
            ),
        ),
        Row(
            "TCP echo, server in its own process, sequential",
            Figure("simulator", "echo-tcp-proc", "rate", "rt/s"),
            (
                Figure("trio TCP ping-pong", "tcp-ping-pong", "rate", "rt/s"),
                Figure("Prosody + slixmpp", "prosody", "sequential", "rt/s"),
            ),
        ),
        Row(
            "TCP echo, server in its own process, pipelined",
            Figure("simulator", "echo-tcp-proc-pipe", "rate", "/s"),
            (
                Figure("trio TCP pipelined", "tcp-pipe", "rate", "/s"),
                Figure("Prosody + slixmpp pipelined", "prosody", "pipelined", "/s"),
            ),
        ),
        Row(
            f"group fan-out with receipts, {members} members",
            Figure("simulator", "fan-out", "rate", "deliveries/s"),
            (Figure("bare trio fan-out", "bare-fan-out", "rate", "deliveries/s"),),
        ),
        Row(
            f"memory per idle session, node link ({k} sessions)",
            Figure("simulator", "sessions-node", "kib", "KiB"),
            (Figure("bare 2 tasks + 2 channels", "bare-tasks", "kib", "KiB"),),
        ),
        Row(
            f"memory per idle session, TCP ({k} sessions)",
            Figure("simulator", "sessions-tcp", "kib", "KiB"),
            (Figure("bare idle TCP connection", "bare-tcp", "kib", "KiB"),),
        ),
        Row(
            f"memory per idle session, TCP, server process alone ({k} sessions)",
            Figure("simulator", "server-end", "kib", "KiB"),
            (Figure("bare trio server, a task reading each", "bare-server-end", "kib", "KiB"),),
        ),
        Row(
            f"TCP logins/s, first 10% of {k}",
            Figure("simulator", "sessions-tcp", "first", "logins/s"),
            (Figure("bare connects", "bare-tcp", "first", "connects/s"),),
        ),
        Row(
            f"TCP logins/s, last 10% of {k}",
            Figure("simulator", "sessions-tcp", "last", "logins/s"),
            (Figure("bare connects", "bare-tcp", "last", "connects/s"),),
        ),
        Row(
            f"TCP logins/s, server in its own process, first 10% of {k}",
            Figure("simulator", "server-end", "first", "logins/s"),
            (Figure("bare connects", "bare-server-end", "first", "connects/s"),),
        ),
        Row(
            f"TCP logins/s, server in its own process, last 10% of {k}",
            Figure("simulator", "server-end", "last", "logins/s"),
            (Figure("bare connects", "bare-server-end", "last", "connects/s"),),
        ),
        Row(
            "`simulator run one.yaml`, wall from process start",
            Figure("simulator", "run-one", "ms", "ms"),
            (Figure("`python -c pass`", "python-pass", "ms", "ms"),),
        ),
        Row(
            "`simulator validate one.yaml`",
            Figure("simulator", "validate", "ms", "ms"),
            (Figure("`python -c pass`", "python-pass", "ms", "ms"),),
        ),
        Row(
            "`import simulator.scenario`",
            Figure("simulator", "import", "ms", "ms"),
            (Figure("`python -c pass`", "python-pass", "ms", "ms"),),
        ),
        Row(
            f"{files} scenario files, `simulator run DIR`",
            Figure("simulator", "suite-serial", "s", "s"),
        ),
        Row(
            f"{files} scenario files, `pytest -n 2`",
            Figure("simulator", "pytest-n2", "s", "s"),
            (Figure("`pytest -n 0`", "pytest-n0", "s", "s"),),
        ),
    ]
    return probes, rows


# ------------------------------------------------------------------ running and printing


def measure(probes: list[Probe], *, verbose: bool) -> None:
    """Run every probe once per round, round after round (interleaved)."""
    rounds = max(probe.reps for probe in probes)
    for round_ in range(rounds):
        for probe in probes:
            if probe.missing or probe.error or round_ >= probe.reps:
                continue
            start = time.perf_counter()
            try:
                probe.samples.append(probe.run())
            except Exception as exc:  # a broken probe is reported, the others still run
                probe.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            if verbose:
                took = time.perf_counter() - start
                print(
                    f"  round {round_ + 1}/{rounds} {probe.name:<15} {took:6.2f} s", file=sys.stderr
                )


def number(value: float, unit: str) -> str:
    if unit == "KiB":
        text = f"{value:,.1f}"
    elif unit == "s":
        text = f"{value:,.2f}"
    else:
        text = f"{value:,.0f}"
    return f"{text} {unit}"


def shown(figure: Figure, probes: dict[str, Probe]) -> tuple[str, float | None]:
    probe = probes[figure.probe]
    if probe.missing:
        return probe.missing, None
    if probe.error:
        return f"failed: {probe.error}", None
    value = probe.median(figure.key)
    return number(value, figure.unit), value


def render(rows: list[Row], probes: list[Probe], sessions: int) -> str:
    by_name = {probe.name: probe for probe in probes}
    lines = [
        "| what | simulator | baselines in the same run (simulator ÷ baseline) |",
        "|---|---|---|",
    ]
    for row in rows:
        sim_text, sim = shown(row.simulator, by_name)
        cells = []
        for baseline in row.baselines:
            text, value = shown(baseline, by_name)
            ratio = f" (×{sim / value:.2f})" if sim is not None and value else ""
            cells.append(f"{baseline.label}: {text}{ratio}")
        lines.append(f"| {row.what} | {sim_text} | {'; '.join(cells) or '—'} |")
    for probe in probes:  # a TCP probe opens fewer sessions if the open-files limit is low
        if probe.samples and "count" in probe.samples[0] and probe.median("count") < sessions:
            lines.append("")
            lines.append(
                f"{probe.name}: only {probe.median('count'):.0f} sessions (open-files limit)"
            )
    hops = by_name["hops"]
    if hops.samples:
        lines.append("")
        lines.append(f"Stanza hops per in-process echo (server tap): {hops.median('hops'):.1f}")
    return "\n".join(lines)


@contextmanager
def prosody_if_installed() -> Iterator[tuple[int | None, str | None]]:
    missing = peers.missing_prosody()
    if missing:
        yield None, missing
        return
    try:
        with peers.prosody() as port:
            yield port, None
    except RuntimeError as exc:  # installed but cannot start here: say why
        yield None, f"installed but did not start: {exc}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--short", action="store_true", help="small sizes (CI): ~30 s")
    parser.add_argument("--reps", type=int, help="repetitions of the fast probes")
    parser.add_argument("--only", help="comma-separated probe names (for profiling a few)")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child_main(args.child[0], args.child[1:])))
        return 0
    sizes = SHORT if args.short else FULL
    if args.reps:
        sizes = Sizes(**{**sizes.__dict__, "reps": args.reps})
    load_before = os.getloadavg()
    start = time.perf_counter()
    with ExitStack() as stack:
        suite = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-suite-")))
        probes_startup.make_suite(suite, sizes.suite_files)
        port, missing = stack.enter_context(prosody_if_installed())
        probes, rows = plan(sizes, suite, port, missing)
        if args.only:
            wanted = set(args.only.split(","))
            for probe in probes:
                if probe.name not in wanted:
                    probe.missing = "left out (--only)"
        measure(probes, verbose=args.verbose)
    load_after = os.getloadavg()
    mode = "short" if args.short else "full"
    print(
        f"bench/run.py ({mode}): medians of up to {sizes.reps} interleaved repetitions;"
        f" {os.cpu_count()} CPUs, load {load_before[0]:.2f} before, {load_after[0]:.2f} after;"
        f" {time.perf_counter() - start:.0f} s"
    )
    print()
    print(render(rows, probes, sizes.sessions))
    return 1 if any(probe.error for probe in probes) else 0


if __name__ == "__main__":
    sys.exit(main())
