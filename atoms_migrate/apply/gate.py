"""What stops a plan before anything is written: the ``--fail-on`` gate and the refusal of error findings.

Kept apart from ``flow`` (which imports the whole apply machinery) because the CLI needs ``FailOn`` as an option
type when it starts.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from atoms_migrate.errors import MigrationError

if TYPE_CHECKING:
    from atoms_migrate.model import AgentPlan, Plan


class FailOn(StrEnum):
    """``--fail-on``: the finding level that stops a run before it writes (error < unmapped < lossy)."""

    lossy = "lossy"
    unmapped = "unmapped"
    error = "error"


def gate_tripped(plan: Plan, fail_on: FailOn | None) -> bool:
    """Does any agent of ``plan`` have findings at the ``--fail-on`` level or worse?"""
    if fail_on is None:
        return False
    findings = [f for a in plan.agents for f in a.findings]
    if any(f.severity == "error" for f in findings):
        return True
    if fail_on is FailOn.error:
        return False
    if any(f.status == "unmapped" and f.severity != "info" for f in findings):
        return True
    if fail_on is FailOn.unmapped:
        return False
    lossy_changes = any(c.status == "lossy" for a in plan.agents for c in a.changes)
    return lossy_changes or any(f.status == "lossy" and f.severity != "info" for f in findings)


def refusal(agent_plan: AgentPlan) -> MigrationError | None:
    """Why an agent's plan must not be applied: its error findings (None when it may be)."""
    errors = agent_plan.errors()
    if not errors or not agent_plan.has_changes():
        return None
    listed = "; ".join(f"{f.source_path}: {f.message}" for f in errors[:3]) + (
        f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
    )
    return MigrationError(
        f"refused: the plan has {len(errors)} error finding(s), so nothing is written for this agent: {listed}",
        "Fix the source (see Needs review), or pass --allow-errors to apply without what cannot work.",
    )
