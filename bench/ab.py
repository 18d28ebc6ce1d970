"""A/B: the in-process rows of two or more source trees, interleaved, as medians and ratios.

    git worktree add /tmp/before <commit>       # or: git archive <commit> | tar -x -C DIR
    .venv/bin/python bench/ab.py /tmp/before . --rounds 5

Each round runs every tree once, in turn, each in a fresh interpreter that imports the
simulator from that tree (``bench/probes_trio.py`` of this checkout drives it), so a
noisy neighbour spreads over all trees instead of one. Prints, per tree, the median
sequential and pipelined echo rates and the 256-member fan-out rate, and each one's
ratio to the first tree. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYS = ("seq", "pipe", "fan")
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(1, sys.argv[2])
import probes_trio as t
n, messages = int(sys.argv[3]), int(sys.argv[4])
print(json.dumps({
    "seq": t.echo("node", n, pipelined=False),
    "pipe": t.echo("node", n, pipelined=True),
    "fan": t.group_fan_out(256, messages),
}))
"""


def measure(tree: Path, echoes: int, messages: int) -> dict[str, float]:
    """One run of the three probes against the simulator in ``tree``."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tree), str(HERE), str(echoes), str(messages)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    )
    values: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trees", nargs="+", type=Path, help="source trees; the first is the base")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--echoes", type=int, default=3000)
    parser.add_argument("--messages", type=int, default=20, help="fan-out messages per run")
    args = parser.parse_args(argv)
    trees: list[Path] = [tree.resolve() for tree in args.trees]
    runs: dict[Path, list[dict[str, float]]] = {tree: [] for tree in trees}
    for _ in range(args.rounds):
        for tree in trees:
            runs[tree].append(measure(tree, args.echoes, args.messages))
    base: dict[str, float] | None = None
    for tree in trees:
        median = {key: statistics.median(run[key] for run in runs[tree]) for key in KEYS}
        base = base or median
        shown = "  ".join(
            f"{key} {median[key]:,.0f} (x{median[key] / base[key]:.2f})" for key in KEYS
        )
        print(f"{tree}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
