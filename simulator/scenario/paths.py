"""Which files are scenarios: :func:`collect_paths` (``simulator run``/``validate`` and the
pytest plugin). Standard library only: the pytest plugin expands its configured paths
with it in every process, xdist's controller included, which runs no scenario."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from simulator.errors import ScenarioError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["SCENARIO_SUFFIXES", "WORLD_SUFFIXES", "collect_paths"]

SCENARIO_SUFFIXES: Final = (".yaml", ".yml")
WORLD_SUFFIXES: Final = (".world.yaml", ".world.yml")


def collect_paths(paths: Iterable[Path | str]) -> list[Path]:
    """The scenario files named by ``paths``, sorted within each directory.

    A file is taken as it is; a directory is searched recursively for ``*.yaml`` and
    ``*.yml``, leaving out world files (``*.world.yaml``).

    Raises:
        ScenarioError: a path does not exist.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.name.endswith(SCENARIO_SUFFIXES)
                and not p.name.endswith(WORLD_SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or directory")
    unique: dict[Path, None] = dict.fromkeys(found)
    return list(unique)
