"""The one error boundary: every command runs inside ``error_boundary``, where exceptions become exit codes.

An expected failure (``MigrationError``) is one line naming the problem, a ``hint:`` line and its exit code (1, or
4 for a locked state file); Ctrl-C is 130; a closed stdout (``| head``) ends the run quietly with 1; anything
else is a bug: a one-line message naming the exception and ``EXIT_CRASH`` (70), distinct from 1 so CI can tell a
crash from a failed migration. ``--debug`` adds the traceback. Everything written passes ``scrub``: API keys,
``ATOMS_MIGRATE_SECRET_*`` values, ``--secret`` values and literal credentials found in a source never reach the
terminal.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from atoms_migrate.errors import EXIT_CRASH, EXIT_INTERRUPTED, MigrationError
from atoms_migrate.settings import Settings

_secrets: set[str] = set()  # secret values met during this run (--secret, a source's literal credentials)
_secrets_lock = threading.Lock()  # batch workers add theirs from their own threads


def remember_secrets(values: Iterable[str]) -> None:
    """Scrub ``values`` from everything printed from now on, like the API keys."""
    with _secrets_lock:
        _secrets.update(values)


def scrub(text: str) -> str:
    """``text`` with every known secret value (4 characters or more) replaced by ``<redacted>``."""
    with _secrets_lock:
        known = [*Settings.from_env().secret_values(), *_secrets]
    for value in sorted({v for v in known if v and len(v) >= 4}, key=len, reverse=True):
        text = text.replace(value, "<redacted>")
    return text


@contextmanager
def error_boundary(debug: bool) -> Iterator[None]:
    """The one place errors become messages and exit codes."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        yield
    except typer.Exit:
        raise
    except MigrationError as exc:
        if debug:
            err.print(scrub(traceback.format_exc()), markup=False)
        err.print(scrub(f"error: {exc.message}"), markup=False)
        if exc.hint:
            err.print(scrub(f"  hint: {exc.hint}"), markup=False)
        raise typer.Exit(exc.exit_code) from None
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): not a bug. Click's own handler ends the run quietly, exit 1.
        raise
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # a bug: say so plainly, keep the traceback behind --debug
        if debug:
            err.print(scrub(traceback.format_exc()), markup=False)
        err.print(scrub(f"error: unexpected {type(exc).__name__}: {exc}"), markup=False)
        err.print("  hint: this is a bug in atoms-migrate; re-run with --debug and report the traceback.", markup=False)
        raise typer.Exit(EXIT_CRASH) from None
