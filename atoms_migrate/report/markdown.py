"""The markdown report for pull requests and ``$GITHUB_STEP_SUMMARY``.

One summary table, then a collapsed ``<details>`` block per agent with its field diff,
what needs review and what was ignored. Kept under GitHub's 1 MiB step-summary limit:
agents past the budget are cut and the cut is said.
"""

from __future__ import annotations

from collections.abc import Mapping

from atoms_migrate.model import AgentPlan, Finding, Plan
from atoms_migrate.report.values import parity_line, review_items, short, summary_line

STEP_SUMMARY_LIMIT = 1024 * 1024 - 4096  # leave room for whatever else the job appends


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _agent_block(agent: AgentPlan) -> str:
    counts = agent.counts()
    review = review_items(agent)
    errors = sum(1 for f in agent.findings if f.severity == "error")
    title = (
        f"<b>{_cell(agent.source.name)}</b>: {agent.action}, {len(agent.changes)} change(s), {len(review)} to review"
    )
    if agent.sync in ("drifted", "conflict"):
        title += f", **{agent.sync}**"
    if errors:
        title += f", {errors} error(s)"
    out = [f"<details><summary>{title}</summary>", ""]
    out.append(f"Source: `{agent.source.path or agent.source.agent_id}` ({agent.source.shape})  ")
    out.append(
        f"Fields: {counts['mapped']} mapped, {counts['lossy']} lossy, {counts['defaulted']} defaulted, "
        f"{counts['unmapped']} unmapped, {counts['ignored']} ignored"
    )
    out.append("")
    if agent.sync in ("drifted", "conflict"):
        from atoms_migrate.apply.sync import RESOLVE_HINT

        out.append(
            f"**{agent.sync.upper()}** ({agent.resolution}): {len(agent.target_edits)} field(s) edited on Atoms "
            "since the last migration"
            + (f"; to resolve: {_cell(RESOLVE_HINT[agent.sync])}" if agent.resolution in ("keep", "fail") else "")
        )
        out.append("")
        out += ["| Edited on Atoms | Published | Live |", "|---|---|---|"]
        out += [
            f"| `{_cell(e.path)}` | {_cell(short(e.published, 40))} | {_cell(short(e.live, 40))} |"
            for e in agent.target_edits
        ]
        out.append("")
    if agent.changes:
        out += ["| | Atoms field | Value | From | Status |", "|---|---|---|---|---|"]
        for c in agent.changes:
            value = short(c.after, 60) if c.kind != "~" else f"{short(c.before, 25)} → {short(c.after, 35)}"
            if c.kind == "-":
                value = short(c.before, 60)
            out.append(f"| {c.kind} | `{_cell(c.path)}` | {_cell(value)} | `{_cell(c.source_path)}` | {c.status} |")
        out.append("")
    if agent.tool_parity:
        out += ["**Tool calls** (ElevenLabs vs Atoms, same sample inputs)", ""]
        out += [f"- `{_cell(parity_line(p))}`" for p in agent.tool_parity]
        out.append("")
    if review:
        out += ["**Needs review**", ""]
        for item in review:
            if isinstance(item, Finding):
                line = f"- **{item.severity}** ({item.status}) `{_cell(item.source_path)}`: {_cell(item.message)}"
                out.append(line + (f" _Hint: {_cell(item.hint)}_" if item.hint else ""))
            else:
                out.append(f"- **lossy** `{_cell(item.path)}` ← `{_cell(item.source_path)}`: {_cell(item.note)}")
        out.append("")
    ignored = [f for f in agent.findings if f.status == "ignored"]
    if ignored:
        out.append(f"Ignored ({len(ignored)}): " + ", ".join(f"`{_cell(f.source_path)}`" for f in ignored))
        out.append("")
    out += ["</details>", ""]
    return "\n".join(out)


def plan_markdown(plan: Plan, limit: int = STEP_SUMMARY_LIMIT, results: Mapping[str, str] | None = None) -> str:
    """``results`` (source key -> outcome text) adds a Result column after an apply."""
    columns = "| Agent | Action | Changes | Lossy | Unmapped | Errors |" + (" Result |" if results is not None else "")
    head = ["## atoms-migrate plan", "", columns, "|---" * (7 if results is not None else 6) + "|"]
    for a in plan.agents:
        counts = a.counts()
        errors = sum(1 for f in a.findings if f.severity == "error")
        row = (
            f"| {_cell(a.source.name)} | {a.action} | {len(a.changes)} | {counts['lossy']} "
            f"| {counts['unmapped']} | {errors} |"
        )
        if results is not None:
            row += f" {_cell(results.get(a.source.key, '-'))} |"
        head.append(row)
    head.append("")
    foot = f"**{summary_line(plan.summary())}**\n"
    text = "\n".join(head) + "\n"
    budget = limit - len(text.encode()) - len(foot.encode()) - 200
    for i, agent in enumerate(plan.agents):
        block = _agent_block(agent)
        if len(block.encode()) > budget:
            text += (
                f"_Report truncated: {len(plan.agents) - i} agent(s) not shown to stay under GitHub's 1 MiB "
                "summary limit; see the JSON plan._\n\n"
            )
            break
        text += block + "\n"
        budget -= len(block.encode()) + 1
    return text + foot
