#!/usr/bin/env python3
"""Set-up and entry points: ``python3 dev.py demo`` and ``python3 dev.py test``.

Each command creates ``.venv`` (once) with the project and its test tools installed, and
reinstalls only when ``pyproject.toml`` or this file changed. Nothing is installed outside
the checkout. Needs only Python 3.11+ with pip and venv.

    python3 dev.py demo     run the example scenarios against the simulator
    python3 dev.py test     lint, type-check and run the whole test suite (what CI runs)
    python3 dev.py setup    only create / refresh the environment
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".installed"
INTEROP = ROOT / ".interop"


def _fingerprint() -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "dev.py", "tests/interop/clients.txt"):
        path = ROOT / name
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()


def _run(*cmd: str | Path, **kw: object) -> None:
    printable = " ".join(str(c) for c in cmd)
    print(f"+ {printable}", flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, check=False, **kw)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def setup() -> None:
    """Create the virtual environment and install the project with its dev extras."""
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    _install_browser()  # outside the stamp: a browser removed since is installed again
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    pip = (PY, "-m", "pip", "install", "--disable-pip-version-check", "--quiet")
    _run(*pip, "--upgrade", "pip")
    _run(*pip, "-e", ".[dev]")
    _install_interop_clients()
    STAMP.write_text(fingerprint)


CHROMIUM = Path("/usr/bin/chromium")


def _install_browser() -> None:
    """Debian's Chromium for the desk's browser tests (Playwright's own download is not used).

    Installed with apt when missing and running as root (CI: a fresh Debian machine);
    otherwise say how, and the browser tests fail with the same sentence.
    """
    if CHROMIUM.exists():
        return
    if os.name != "posix" or os.geteuid() != 0:
        print(
            f"{CHROMIUM} is missing: install Debian's chromium package (as root:"
            " apt-get install -y chromium) for the desk's browser tests",
            flush=True,
        )
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run("apt-get", "update", env=env)
    _run("apt-get", "install", "-y", "--no-install-recommends", "chromium", env=env)


def _install_interop_clients() -> None:
    """Install the real clients the interop tests drive, each in its own folder.

    Several yowsup versions cannot share one environment (same package name), so each goes
    to ``.interop/<name>`` with ``pip install --target``; the tests put that folder on the
    client subprocess's ``PYTHONPATH``. The list lives in ``tests/interop/clients.txt``.
    """
    spec = ROOT / "tests" / "interop" / "clients.txt"
    if not spec.exists():
        return
    for line in spec.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, *requirements = line.split()
        target = INTEROP / name
        if target.exists():
            continue
        if any("curve25519" in r for r in requirements):
            _ensure_c_compiler()
        tmp = INTEROP / f"{name}.partial"
        _run(
            PY,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--no-deps",
            "--target",
            tmp,
            *requirements,
        )
        tmp.rename(target)


def _ensure_c_compiler() -> None:
    """python-axolotl-curve25519 (the yowsup end-to-end install) is a C extension built from
    its sdist: it needs a C compiler and Python's headers. On a Debian machine without
    them (CI starts from one), install them with apt-get."""
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if shutil.which("cc") and headers.exists():
        return
    if not shutil.which("apt-get"):
        print("warning: no C compiler or Python headers; the -e2e interop client may fail")
        return
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    packages = ["gcc", "libc6-dev"] + ([] if headers.exists() else [f"{version}-dev"])
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run("apt-get", "update", env=env)
    _run("apt-get", "install", "-y", "--no-install-recommends", *packages, env=env)


def test(args: list[str]) -> None:
    """Everything CI checks: ruff lint and format, mypy strict, then pytest."""
    setup()
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", ".")
    _run(BIN / "mypy")
    _run(PY, "-m", "pytest", "-n", "auto", *args)


def demo(args: list[str]) -> None:
    """The main job: run the example scenario suite through the simulator."""
    setup()
    _run(BIN / "simulator", "run", *(args or ["scenarios"]))


def main(argv: list[str]) -> None:
    commands = {"setup": lambda _args: setup(), "test": test, "demo": demo}
    if not argv or argv[0] not in commands:
        print(__doc__)
        raise SystemExit(2)
    commands[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
