"""The terminal report: a Terraform-like diff, "Needs review", ignored count, summary.

Returns rich renderables built from ``Text`` (never markup strings, so a prompt holding
``[bold]`` prints literally). Colour is decided by the Console the CLI passes in
(``--no-color``, ``NO_COLOR`` and non-TTY output are plain).
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from atoms_migrate.model import AgentPlan, Change, Finding, Plan
from atoms_migrate.report.values import (
    is_long_text,
    parity_line,
    request_lines,
    review_items,
    short,
    summary_line,
    text_diff,
    text_preview,
)

_KIND_STYLE = {"+": "green", "~": "yellow", "-": "red"}
_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_ACTION_SYMBOL = {"create": "+", "update": "~", "no-op": "="}


def _change_lines(change: Change, verbose: bool) -> list[Text]:
    style = _KIND_STYLE[change.kind]
    head = Text(f"    {change.kind} ", style=style)
    head.append(f"{change.path:<44}", style=style)
    lines = [head]
    if (
        change.kind == "~"
        and isinstance(change.before, str)
        and isinstance(change.after, str)
        and (is_long_text(change.before) or is_long_text(change.after))
    ):
        head.append(f" text changed ({len(change.before)} -> {len(change.after)} chars)")
        for row in text_diff(change.before, change.after):
            row_style = "green" if row.startswith("+") else "red" if row.startswith("-") else "dim"
            lines.append(Text(f"        {row}", style=row_style))
    elif is_long_text(change.after):
        head.append(f" ({len(change.after)} chars, {change.after.count(chr(10)) + 1} lines)")
        lines.extend(Text(f"        | {row}", style="dim") for row in text_preview(change.after))
    elif change.kind == "~":
        head.append(f" {short(change.before, 30)} -> {short(change.after, 40)}")
    elif change.kind == "-":
        head.append(f" {short(change.before)}")
    else:
        head.append(f" {short(change.after)}")
    if change.status == "defaulted":
        head.append("  (defaulted)", style="dim")
    if verbose and change.note:
        lines.append(Text(f"        # {change.note}", style="dim"))
    return lines


def _review_lines(item: Finding | Change) -> list[Text]:
    if isinstance(item, Finding):
        line = Text("    ")
        line.append(f"{item.severity:<7}", style=_SEVERITY_STYLE[item.severity])
        line.append(f" {item.status:<8} ")
        line.append(item.source_path or "(agent)", style="bold")
        line.append(f": {item.message}")
        out = [line]
        if item.hint:
            out.append(Text(f"                     hint: {item.hint}", style="dim"))
        return out
    line = Text("    ")
    line.append(f"{'lossy':<7}", style="magenta")
    line.append(f" {'change':<8} ")
    line.append(item.path, style="bold")
    line.append(f" <- {item.source_path}: {item.note or 'approximate mapping'}")
    return [line]


def _sync_lines(agent: AgentPlan) -> list[Text]:
    """Drifted and conflicting agents (sync.py): what was edited on Atoms, and the flag that settles it."""
    from atoms_migrate.apply.sync import RESOLVE_HINT

    if agent.sync not in ("drifted", "conflict"):
        return []
    settled = {
        "keep": "kept the Atoms edits; nothing is written",
        "overwrite": "--on-drift overwrite: the source is re-applied over them",
        "merge": "--merge: only the source's changes are written, the Atoms edits stay",
        "source": "--on-conflict source: the source is re-applied over them",
        "target": "--on-conflict target: the Atoms edits are kept and the new source recorded; nothing is written",
        "fail": "nothing is written and this agent fails",
    }[agent.resolution or "keep"]
    what = (
        "DRIFTED: edited on Atoms since the last migration (the source did not change)"
        if agent.sync == "drifted"
        else "CONFLICT: the source and the Atoms agent both changed since the last migration"
    )
    out = [Text(f"  ! {what}; {settled}.", style="bold yellow" if agent.sync == "drifted" else "bold red")]
    out.append(Text(f"    Edited on Atoms ({len(agent.target_edits)}):", style="bold"))
    for edit in agent.target_edits:
        out.append(Text(f"      ~ {edit.path:<44} published {short(edit.published, 30)}, live {short(edit.live, 30)}"))
    if agent.pending_changes:
        out.append(Text(f"    Changed in the source, not written ({len(agent.pending_changes)}):", style="bold"))
        for change in agent.pending_changes:
            out.append(Text(f"      ~ {change.path:<44} {short(change.after, 60)}"))
    if agent.resolution in ("keep", "fail"):
        out.append(Text(f"    To resolve: {RESOLVE_HINT[agent.sync]}.", style="dim"))
    return out


def _tool_call_lines(agent: AgentPlan, verbose: bool) -> list[Text]:
    """One line per migrated api_call: does Atoms send what ElevenLabs sent? ``-v`` shows both calls."""
    out = [Text(f"  Tool calls ({len(agent.tool_parity)}): ElevenLabs vs Atoms, same sample inputs", style="bold")]
    for parity in agent.tool_parity:
        out.append(Text(f"    {parity_line(parity)}", style="green" if parity.equal else "bold red"))
        if verbose:
            left, right = request_lines(parity.elevenlabs), request_lines(parity.atoms)
            width = max(24, min(56, max(len(row) for row in left)))
            out.append(Text(f"        {'ElevenLabs':<{width}} | Atoms", style="dim"))
            for i in range(max(len(left), len(right))):
                a = left[i] if i < len(left) else ""
                b = right[i] if i < len(right) else ""
                # A long ElevenLabs line wraps instead of being cut: the URL is what a reader compares.
                chunks = [a[:width]] + [a[j : j + width - 2] for j in range(width, len(a), width - 2)]
                out.append(Text(f"        {chunks[0]:<{width}} | {b}", style="dim"))
                out.extend(Text(f"          {chunk:<{width - 2}} |", style="dim") for chunk in chunks[1:])
            for difference in parity.differences[1:]:
                out.append(Text(f"        ≠ {difference}", style="red"))
    return out


def render_agent(agent: AgentPlan, verbose: bool = False) -> list[Text]:
    symbol = _ACTION_SYMBOL[agent.action]
    header = Text(f"{symbol} ", style=_KIND_STYLE.get(symbol, "dim"))
    header.append(f"{agent.action} agent ", style="bold")
    header.append(agent.source.name, style="bold")
    where = agent.source.path or agent.source.agent_id
    if where:
        header.append(f"  ({where}", style="dim")
        if agent.target_agent_id:
            header.append(f" -> Atoms agent {agent.target_agent_id}", style="dim")
        header.append(")", style="dim")
    lines = [header]
    for note in agent.source.notes:
        lines.append(Text(f"    note: {note}", style="dim"))
    lines.extend(_sync_lines(agent))
    if not agent.changes and agent.sync not in ("drifted", "conflict"):
        lines.append(Text("    no changes: the live agent already matches the source", style="dim"))
    for change in agent.changes:
        lines.extend(_change_lines(change, verbose))
    if agent.steps:
        lines.append(Text(""))
        lines.append(Text("  Steps", style="bold"))
        for n, step in enumerate(agent.steps, 1):
            lines.append(Text(f"    {n}. {step.summary}"))
    if agent.tool_parity:
        lines.append(Text(""))
        lines.extend(_tool_call_lines(agent, verbose))
    review = review_items(agent)
    if review:
        lines.append(Text(""))
        lines.append(Text(f"  Needs review ({len(review)})", style="bold"))
        for item in review:
            lines.extend(_review_lines(item))
    ignored = [f for f in agent.findings if f.status == "ignored"]
    if ignored:
        lines.append(Text(""))
        if verbose:
            lines.append(Text(f"  Ignored ({len(ignored)})", style="bold"))
            for f in ignored:
                lines.append(Text(f"    {f.source_path}: {f.message}", style="dim"))
        else:
            lines.append(Text(f"  Ignored: {len(ignored)} field(s) with a reason (-v lists them)", style="dim"))
    return lines


def render_plan(plan: Plan, console: Console, verbose: bool = False) -> None:
    for i, agent in enumerate(plan.agents):
        if i:
            console.print()
        for line in render_agent(agent, verbose):
            console.print(line, soft_wrap=True)
    console.print()
    console.print(Text(summary_line(plan.summary()), style="bold"), soft_wrap=True)
