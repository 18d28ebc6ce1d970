"""Exit codes, decided in one place (after pre-commit's ``error_handler``).

=====  ==================================================================
0      success (and ``--help``)
1      ``FatalError``: the command gave up; one sentence on stderr
2      usage error: argparse printed the usage and what was wrong
3      a bug: one line on stderr, the traceback saved to a file it names: in
       ``$SIMULATOR_CRASH_DIR`` if set, else in the current directory (where
       the user ran the tool)
130    interrupted with Ctrl-C
141    stdout was closed by the reader (``simulator routes | head``): nothing
       is printed, the status is the one of a Unix tool ended by SIGPIPE
=====  ==================================================================
"""

from __future__ import annotations

import os
import shlex
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Final

from simulator.errors import FatalError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_BUG",
    "EXIT_FATAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "exit_code_of",
    "split_bot_command",
    "unwrap_group",
]

EXIT_OK: Final = 0
EXIT_FATAL: Final = 1
EXIT_USAGE: Final = 2
EXIT_BUG: Final = 3
EXIT_INTERRUPTED: Final = 130
EXIT_BROKEN_PIPE: Final = 141

CRASH_DIR_VARIABLE: Final = "SIMULATOR_CRASH_DIR"
"""Where crash logs go; unset: the current directory."""


def exit_code_of(command: Callable[[], int]) -> int:
    """Run ``command`` and turn how it ended into an exit code, reporting on stderr."""
    try:
        code = command()
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except SystemExit as exc:  # argparse exits for --help (0) and usage errors (2)
        return _system_exit_code(exc)
    except FatalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if _only_broken_pipes(exc):
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        try:
            where = f"traceback in {_save_traceback()}"
        except OSError as write_error:
            where = f"cannot save the traceback: {write_error}"
            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {exc} (this is a bug; {where})",
            file=sys.stderr,
        )
        return EXIT_BUG


def _only_broken_pipes(exc: BaseException) -> bool:
    """The reader of our output went away (maybe reported from inside a nursery)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_broken_pipes(inner) for inner in exc.exceptions)
    return isinstance(exc, BrokenPipeError)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush at exit cannot raise
    the same ``BrokenPipeError`` again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (captured): nothing to flush
        pass


def _system_exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return EXIT_OK
    if isinstance(exc.code, int):
        return exc.code
    print(f"error: {exc.code}", file=sys.stderr)
    return EXIT_FATAL


def _save_traceback() -> str:
    """Write the current traceback to a new ``simulator-crash-*.log`` in the crash folder
    (``$SIMULATOR_CRASH_DIR``, else the current directory); its path, relative when short."""
    import tempfile  # only after a crash: it imports shutil, lzma and more at start-up

    folder = Path(os.environ.get(CRASH_DIR_VARIABLE) or ".")
    with tempfile.NamedTemporaryFile(
        "w",
        prefix="simulator-crash-",
        suffix=".log",
        dir=folder,
        delete=False,
        encoding="utf-8",
    ) as log:
        log.write(traceback.format_exc())
    return log.name


def unwrap_group(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """Nurseries wrap what escapes them; a lone error is shown as itself."""
    while len(group.exceptions) == 1:
        inner = group.exceptions[0]
        if not isinstance(inner, BaseExceptionGroup):
            return inner
        group = inner
    return group


def split_bot_command(text: str) -> tuple[str, ...]:
    """``--bot-command``'s words as a shell would split them, or one sentence why not."""
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise FatalError(f"--bot-command: {exc}") from None
    if not argv:
        raise FatalError("--bot-command is empty")
    return argv
