"""``promote`` and ``rollback``: parse, call ``apply.release`` with the Atoms client and the confirmation, render."""

from __future__ import annotations

from typing import Annotated

import typer

from atoms_migrate.cli.boundary import error_boundary
from atoms_migrate.cli.clients import required_atoms_client
from atoms_migrate.cli.context import state_lock, state_path
from atoms_migrate.cli.options import DebugOption, SmallestUrlOption, StateOption, WaitLockOption, YesOption
from atoms_migrate.cli.output import ask, err_console
from atoms_migrate.cli.root import app
from atoms_migrate.settings import Settings


@app.command()
def promote(
    source: Annotated[str, typer.Argument(help="The SOURCE of a staged migration (agent id or file).")],
    yes: YesOption = False,
    state: StateOption = None,
    smallest_base_url: SmallestUrlOption = None,
    wait_lock: WaitLockOption = 0.0,
    debug: DebugOption = False,
) -> None:
    """Make the branch a staged migration (--branch) wrote to the live one."""
    err = err_console()
    with error_boundary(debug), state_lock(state, wait_lock):
        from atoms_migrate.apply import release

        settings = Settings.from_env()
        done = release.promote(
            source,
            state_path(state),
            connect=lambda: required_atoms_client(smallest_base_url, settings=settings),
            confirm=lambda question: ask(question, yes),
        )
        err.print(f"Branch {done.branch_name!r} is now live on Atoms agent {done.agent_id}.", markup=False)


@app.command()
def rollback(
    source: Annotated[str, typer.Argument(help="The SOURCE of a migration (agent id or file).")],
    yes: YesOption = False,
    state: StateOption = None,
    smallest_base_url: SmallestUrlOption = None,
    wait_lock: WaitLockOption = 0.0,
    debug: DebugOption = False,
) -> None:
    """Undo the last apply: restore the revision live before it, or archive the agent if this tool created it."""
    err = err_console()
    with error_boundary(debug), state_lock(state, wait_lock):
        from atoms_migrate.apply import release

        settings = Settings.from_env()
        done = release.rollback(
            source,
            state_path(state),
            connect=lambda: required_atoms_client(smallest_base_url, settings=settings),
            confirm=lambda question: ask(question, yes),
            say=lambda text: err.print(text, markup=False),
        )
        if done.archived:
            restore = f"DELETE /agent/{done.agent_id}/archive?on=false"
            err.print(f"Archived Atoms agent {done.agent_id}; restore it with {restore}.", markup=False)
        else:
            err.print(f"Rolled back Atoms agent {done.agent_id} ({done.undone} undone).", markup=False)
