"""``bench/run.py`` keeps working: every row is printed and parses (no timing is checked)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"

ROWS = [
    "in-process echo (acks + receipts), sequential",
    "in-process echo, pipelined",
    "TCP echo with RC4+HMAC, sequential",
    "TCP echo, pipelined",
    "TCP echo, server in its own process, sequential",
    "TCP echo, server in its own process, pipelined",
    "group fan-out with receipts, 256 members",
    "memory per idle session, node link (1k sessions)",
    "memory per idle session, TCP (1k sessions)",
    "memory per idle session, TCP, server process alone (1k sessions)",
    "TCP logins/s, first 10% of 1k",
    "TCP logins/s, last 10% of 1k",
    "TCP logins/s, server in its own process, first 10% of 1k",
    "TCP logins/s, server in its own process, last 10% of 1k",
    "`simulator run one.yaml`, wall from process start",
    "`simulator validate one.yaml`",
    "`import simulator.scenario`",
    "10 scenario files, `simulator run DIR`",
    "10 scenario files, `pytest -n 2`",
]
FIGURE = r"[\d,]+(\.\d+)? (rt/s|/s|deliveries/s|connects/s|logins/s|KiB|ms|s)"
BASELINE = re.compile(rf"[^:]+: ({FIGURE}( \(×[\d.]+\))?|not installed: .+|left out \(--only\))")


def _bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
        timeout=600,
    )


def _table(stdout: str) -> dict[str, tuple[str, list[str]]]:
    """``what -> (simulator cell, baseline cells)`` from the printed Markdown table."""
    rows: dict[str, tuple[str, list[str]]] = {}
    for line in stdout.splitlines():
        if not line.startswith("| ") or line.startswith(("| what ", "|---")):
            continue
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        assert len(cells) == 3, line
        what, simulator, baselines = cells
        rows[what] = (simulator, [] if baselines == "—" else baselines.split("; "))
    return rows


@pytest.mark.slow
def test_the_short_bench_prints_every_row_with_a_figure_for_the_simulator() -> None:
    result = _bench("--short")
    assert result.returncode == 0, result.stderr
    table = _table(result.stdout)
    assert list(table) == ROWS
    for what, (simulator, baselines) in table.items():
        assert re.fullmatch(FIGURE, simulator), (what, simulator)
        for cell in baselines:
            assert BASELINE.fullmatch(cell), (what, cell)
    assert re.search(r"Stanza hops per in-process echo \(server tap\): \d+\.\d", result.stdout)


def test_a_peer_that_is_not_installed_is_named_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # no prosody, no prosodyctl
    result = _bench("--short", "--only", "hops,prosody", env=env)
    assert result.returncode == 0, result.stderr
    table = _table(result.stdout)
    prosody = (
        "Prosody + slixmpp: not installed: program prosody not on PATH (apt-get install prosody)"
    )
    assert prosody in table["TCP echo with RC4+HMAC, sequential"][1]
    assert table["in-process echo, pipelined"] == (
        "left out (--only)",
        ["trio channel relay: left out (--only)"],
    )


def test_ab_compares_two_checkouts_and_refuses_an_unknown_probe() -> None:
    """``bench/ab.py`` runs a probe in two checkouts (here the same one twice)."""
    ab = ROOT / "bench" / "ab.py"
    command = [sys.executable, str(ab), str(ROOT), str(ROOT), "--rounds", "1"]
    result = subprocess.run(
        [*command, "sessions-node", "start-pass"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"sessions-node kib: A [\d,.]+  B [\d,.]+  B/A [\d.]+\n"
        r"sessions-node first: .+\nsessions-node last: .+\n"
        r"start-pass cpu_ms: A [\d,.]+  B [\d,.]+  B/A [\d.]+\n",
        result.stdout,
    )
    wrong = subprocess.run([*command, "nope"], capture_output=True, text=True, check=False)
    assert wrong.returncode == 2
    assert "unknown probe 'nope'" in wrong.stderr


@pytest.mark.slow
def test_the_tcp_floor_runs_every_case_and_prints_its_figures() -> None:
    """``bench/floor_tcp.py`` moves its echoes (both modes, both topologies, sequential
    and pipelined) to the end and prints one line per case (no timing is checked)."""
    floor = ROOT / "bench" / "floor_tcp.py"
    result = subprocess.run(
        [sys.executable, str(floor), "--rounds", "100", "--repeat", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    cases = [
        f"{mode}, {where}, {how}"
        for mode in ("nodes", "bytes")
        for where in ("one process", "server in its own process")
        for how in ("sequential", "pipelined (64 in flight)")
    ]
    figures = r"[\d,]+ /s wall, [\d,]+ /s CPU \(\d+ us CPU per echo\)"
    assert [line.split(": ")[0] for line in result.stdout.splitlines()] == [
        f"TCP echo floor, {case}" for case in cases
    ]
    for line in result.stdout.splitlines():
        assert re.fullmatch(rf"[^:]+: {figures}", line), line
    assert result.stderr == ""
