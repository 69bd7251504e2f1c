"""Short, stable text forms of config values, shared by the human and markdown reports."""

from __future__ import annotations

import difflib
import json
from typing import Any

from atoms_migrate.model import SEVERITY_ORDER, AgentPlan, Change, Finding


def short(value: Any, width: int = 72) -> str:
    text = tool_summary(value) or json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def tool_summary(value: Any) -> str | None:
    """One readable line for an Atoms tool: type, name and what it calls; None for other values."""
    if not (
        isinstance(value, dict)
        and isinstance(value.get("type"), str)
        and isinstance(value.get("name"), str)
        and value["type"]
        in ("end_call", "transfer_call", "api_call", "extract_dynamic_variables", "knowledge_base_search")
    ):
        return None
    text = f"{value['type']} {value['name']}"
    if value["type"] == "api_call":
        params = len(value.get("llmParameters") or [])
        text += f": {value.get('method', '')} {value.get('url', '')} ({params} parameter{'s' if params != 1 else ''})"
    elif value["type"] == "transfer_call":
        text += f": {value.get('transferNumber', '')} ({(value.get('transferOption') or {}).get('type', '')})"
    elif value["type"] == "knowledge_base_search":
        text += f": {value.get('knowledgeBaseId', '')}"
    return text


def is_long_text(value: Any) -> bool:
    return isinstance(value, str) and (value.count("\n") >= 2 or len(value) > 160)


def text_preview(value: str, lines: int = 4) -> list[str]:
    rows = value.splitlines() or [""]
    shown = [r if len(r) <= 100 else r[:99] + "…" for r in rows[:lines]]
    if len(rows) > lines:
        shown.append(f"… {len(rows) - lines} more lines")
    return shown


def text_diff(before: str, after: str, context: int = 1, limit: int = 40) -> list[str]:
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=context))[2:]
    if len(diff) > limit:
        diff = diff[:limit] + [f"… {len(diff) - limit} more diff lines"]
    return diff


def review_items(agent: AgentPlan) -> list[Finding | Change]:
    """Lossy/unmapped findings (errors first) and lossy changes: what a human must look at."""
    findings = sorted((f for f in agent.findings if f.status != "ignored"), key=lambda f: SEVERITY_ORDER[f.severity])
    lossy_changes = [c for c in agent.changes if c.status == "lossy"]
    return [*findings, *lossy_changes]


def summary_line(summary: dict[str, int]) -> str:
    return (
        f"Plan: {summary['create']} to create, {summary['update']} to update, {summary['no-op']} unchanged. "
        f"Fields: {summary['mapped']} mapped, {summary['lossy']} lossy, {summary['defaulted']} defaulted, "
        f"{summary['unmapped']} unmapped, {summary['ignored']} ignored; {summary['errors']} error(s)."
    )


def request_lines(request: Any) -> list[str]:
    """A rendered HTTP call (toolcalls.Request) as short lines: request line, query, headers, body."""
    lines = [f"{request.method} {request.url}"]
    lines += [f"?{key}={value}" for key, value in request.query]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    if request.body_error:
        lines.append(f"body ({request.body_error}): {request.body}")
    elif request.body is not None:
        lines += ["body:"] + ["  " + row for row in json.dumps(request.body, indent=2, ensure_ascii=False).splitlines()]
    return lines


def parity_line(parity: Any) -> str:
    """``= name  POST /path  body 1 field`` or ``≠ name  POST /path  <first difference>``."""
    from atoms_migrate.mapping.toolcalls import summary

    if parity.equal:
        return f"= {parity.tool}  {summary(parity)}"
    more = f" (+{len(parity.differences) - 1} more)" if len(parity.differences) > 1 else ""
    path = summary(parity).split("  ")[0]
    return f"≠ {parity.tool}  {path}  {parity.differences[0]}{more}"
