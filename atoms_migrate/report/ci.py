"""CI surfaces for plans and batch results: JUnit XML and GitHub annotations.

JUnit (the Ant schema GitHub test-report actions, GitLab and Jenkins read; peer-conventions
§3.6): one ``testcase`` per agent. Error-level findings and a failed apply are
``failure``s carrying their messages; lossy and unmapped warnings go to ``system-out`` so
the report shows them without failing. GitHub annotations (§3.5): ``::error`` /
``::warning`` lines, at most 10 per level because GitHub shows no more per step, the last
one saying how many were left out (the thing users asked for in the community thread).
Both are pure functions from plans and outcomes to text. ``verify_junit`` does the same for a
``verify`` run: one ``testcase`` per turn, a failed expectation a ``failure``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from atoms_migrate.model import AgentPlan

if TYPE_CHECKING:  # only the type: plan reports should not load the realtime clients (start-up time)
    from atoms_migrate.verify.run import PlatformRun

ANNOTATIONS_PER_LEVEL = 10


@dataclass(frozen=True)
class AgentResult:
    """What happened to one agent, for CI output: ``status`` created|updated|unchanged|planned|failed."""

    status: str
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Case:
    """One JUnit testcase: failures (the first is the message) and what it printed."""

    classname: str
    name: str
    seconds: float
    failures: tuple[str, ...] = ()
    failure_type: str = "failure"
    output: str = ""


def junit_document(root_name: str, suite_name: str, cases: list[Case]) -> str:
    """The Ant JUnit XML document for ``cases``, in one suite."""
    elements = []
    for c in cases:
        case = ET.Element("testcase", {"classname": c.classname, "name": c.name, "time": f"{c.seconds:.3f}"})
        if c.failures:
            failure = ET.SubElement(case, "failure", {"message": c.failures[0][:500], "type": c.failure_type})
            failure.text = "\n".join(c.failures)
        ET.SubElement(case, "system-out").text = c.output
        elements.append(case)
    failures = str(sum(1 for c in cases if c.failures))
    root = ET.Element("testsuites", {"name": root_name, "tests": str(len(cases)), "failures": failures, "errors": "0"})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": suite_name,
            "tests": str(len(cases)),
            "failures": failures,
            "errors": "0",
            "skipped": "0",
            "time": f"{sum(c.seconds for c in cases):.3f}",
        },
    )
    suite.extend(elements)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def verify_junit(runs: Sequence[PlatformRun], script: str) -> str:
    """JUnit XML of a ``verify`` run: one testcase per turn of each platform's conversation, in suite ``script``."""
    cases = [
        Case(
            f"atoms-migrate.verify.{run['platform']}",
            "opening" if turn["user"] is None else f"turn {i}: {turn['user'][:60]}",
            turn["seconds"],
            tuple(turn["failures"]),
            "expectation",
            f"user: {turn['user']}\nagent: {turn['reply']}\nevents: {' '.join(turn['events'])}",
        )
        for run in (r.to_json() for r in runs)
        for i, turn in enumerate(run["turns"])
    ]
    return junit_document("atoms-migrate verify", script, cases)


def junit_xml(plans: list[AgentPlan], results: Mapping[str, AgentResult], suite: str = "atoms-migrate") -> str:
    """One testcase per agent: error findings and a failed apply are failures, warnings are output."""
    cases = []
    for plan in plans:
        result = results.get(plan.source.key, AgentResult("planned"))
        problems = [
            f"{f.source_path}: {f.message}" + (f" (hint: {f.hint})" if f.hint else "")
            for f in plan.findings
            if f.severity == "error"
        ]
        if result.status == "failed":
            problems.insert(0, f"apply failed: {result.message}")
        warnings = [
            f"{f.severity} {f.status} {f.source_path}: {f.message}"
            for f in plan.findings
            if f.severity == "warning" and f.status != "ignored"
        ]
        head = f"action: {plan.action}; result: {result.status}" + (
            f" ({result.message})" if result.message and result.status != "failed" else ""
        )
        cases.append(
            Case(
                suite,
                f"{plan.source.name} [{plan.source.key}]",
                result.seconds,
                tuple(problems),
                "apply" if result.status == "failed" else "finding",
                "\n".join([head, *warnings]),
            )
        )
    return junit_document(suite, suite, cases)


def _escape(text: str) -> str:
    """GitHub workflow-command escaping of a message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(plans: list[AgentPlan], results: Mapping[str, AgentResult]) -> list[str]:
    """``::error`` / ``::warning`` lines: failed applies and error findings, then warnings; 10 per level."""
    levels: dict[str, list[str]] = {"error": [], "warning": []}
    for plan in plans:
        title = _escape_property(f"atoms-migrate: {plan.source.name}")
        file_part = f"file={_escape_property(plan.source.path)}," if plan.source.path else ""
        result = results.get(plan.source.key)
        if result and result.status == "failed":
            levels["error"].append(f"::error {file_part}title={title}::{_escape('apply failed: ' + result.message)}")
        for f in plan.findings:
            if f.severity in levels and f.status != "ignored":
                levels[f.severity].append(
                    f"::{f.severity} {file_part}title={title}::{_escape(f'{f.source_path}: {f.message}')}"
                )
    lines: list[str] = []
    for level, items in levels.items():
        if len(items) <= ANNOTATIONS_PER_LEVEL:
            lines += items
            continue
        # The count line is an annotation too: 9 + 1 keeps it among the 10 GitHub shows.
        shown = ANNOTATIONS_PER_LEVEL - 1
        lines += items[:shown]
        lines.append(
            f"::{level} title=atoms-migrate::{len(items) - shown} more {level}(s) not shown "
            "(GitHub shows 10 per step); see the report or the JSON plan."
        )
    return lines
