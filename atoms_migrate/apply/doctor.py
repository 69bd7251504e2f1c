"""`atoms-migrate doctor`: what this Atoms account (and ElevenLabs key) can do, before a migration.

Read-only by default (``diagnose``): keys valid for each vendor, base URL and region, the
versioning model (v1/v2, smallest-atoms-api.md §C.4), the voice catalog and its Pro-pool
voices (§E.2, §K.4), knowledge-base and voice-clone access (§F.6, §E.3), and the rate-limit
headers the answers carried (§G.3). Gated models and workflow types only show on a write
(403, §B.1), so they are said to need ``--probe``.

``probe`` creates one throw-away agent named ``atoms-migrate-probe-<time>`` whose
description carries ``PROBE_MARKER``, writes each uncertain field of
``mappings/write_forms.yaml`` in each of its forms (draft, publish, read back), tries the
gated models on a draft, and returns the capability table (field, form, kept?). The agent is
archived in a ``finally`` (an interrupt or SIGTERM still archives it), and probe agents left
by a run that was killed outright are archived at the start of the next probe. Nothing here
prints or reads the environment: the CLI renders ``Report``.

``run_doctor`` is the whole command: diagnose, then (asked first, through an injected ``confirm``)
probe, and record the write forms that were kept in the state file, under its lock (``statelock.py``)
so a migration running on the same state file at once cannot lose them or have its own entries lost.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from atoms_migrate.apply.state import StateFile, update_state
from atoms_migrate.apply.statelock import StateLock
from atoms_migrate.apply.writeforms import WriteForms, load_write_forms, pro_voice_ids, project, wire_body
from atoms_migrate.errors import ApiError, Cancelled, MigrationError
from atoms_migrate.plan.compare import differences
from atoms_migrate.platforms.smallest import AtomsClient, VersioningUnavailable

PROBE_PREFIX = "atoms-migrate-probe-"
PROBE_MARKER = "[atoms-migrate probe: safe to archive]"
GATED_MODELS = ("gpt-5.2", "electron-kogta", "electron-kogta-v2")  # §B.1: 403 without org access
RATE_HEADERS = (
    "retry-after",
    "retry-after-ms",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
)


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | info
    detail: str
    hint: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "hint": self.hint}


@dataclass
class Capability:
    field: str
    form: str
    kept: bool | None  # None: not tried (e.g. no Pro voice in the catalog)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "form": self.form, "kept": self.kept, "note": self.note}


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    capabilities: list[Capability] = field(default_factory=list)
    forms: dict[str, str] = field(default_factory=dict)  # field -> first form kept (recorded in the state)
    probe_agent: str | None = None
    archived: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(c.status == "fail" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": "1",
            "ok": not self.failed,
            "checks": [c.to_dict() for c in self.checks],
            "capabilities": [c.to_dict() for c in self.capabilities],
            "write_forms": dict(self.forms),
            "probe_agent": self.probe_agent,
            "archived": list(self.archived),
        }


class RateHeaders:
    """An httpx response hook keeping the rate-limit headers any answer carried."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, response: httpx.Response) -> None:
        for name in RATE_HEADERS:
            if name in response.headers:
                self.seen[name] = response.headers[name]


def diagnose(atoms: AtomsClient | None, elevenlabs: Any | None, host: str | None, report: Report) -> str | None:
    """The read-only checks; returns the versioning model when one agent showed it."""
    checks = report.checks
    if elevenlabs is None:
        checks.append(
            Check(
                "ElevenLabs key",
                "info",
                "ELEVENLABS_API_KEY is not set: agents can be migrated from files only",
                "Export ELEVENLABS_API_KEY to read agents from the account.",
            )
        )
    else:
        checks.append(
            _try(
                "ElevenLabs key",
                lambda: elevenlabs.list_agents(page_size=1) and "valid (agents can be listed)",
                "Check ELEVENLABS_API_KEY and ELEVENLABS_BASE_URL (residency hosts need their own URL).",
            )
        )
    if atoms is None:
        checks.append(
            Check(
                "Atoms key",
                "fail",
                "SMALLEST_API_KEY is not set",
                "Export SMALLEST_API_KEY (or run `atoms-migrate sandbox` to rehearse).",
            )
        )
        return None
    region = (
        "India" if host and ".india." in host else ("default" if host and "api.smallest.ai" in host else "custom host")
    )
    checks.append(
        Check(
            "Atoms base URL",
            "ok" if (host or "").startswith("https://") else "warn",
            f"{host} ({region})",
            ""
            if (host or "").startswith("https://")
            else "Plain http is fine for the sandbox only; production needs https.",
        )
    )
    agents: list[dict[str, Any]] = []

    def list_one() -> str:
        agents.extend(atoms.list_agents(page=1, page_size=1)[0])
        return "valid (agents can be listed)"

    key = _try(
        "Atoms key", list_one, "Check SMALLEST_API_KEY (keys start with sk_) and the region of SMALLEST_BASE_URL."
    )
    checks.append(key)
    if key.status == "fail":
        return None
    versioning = None
    if agents:
        agent_id = str(agents[0].get("_id"))
        try:
            atoms.list_branches(agent_id)
            versioning = "v2"
        except VersioningUnavailable:
            versioning = "v1"
        except ApiError as exc:
            checks.append(Check("Versioning model", "warn", f"could not be told: {exc.message}"))
        if versioning:
            checks.append(
                Check(
                    "Versioning model",
                    "ok",
                    f"{versioning} ({'branches' if versioning == 'v2' else 'legacy drafts'}, seen on agent {agent_id})",
                )
            )
    else:
        checks.append(
            Check("Versioning model", "info", "no agent to look at yet", "`doctor --probe` creates one and tells.")
        )
    catalog: dict[str, Any] = {}

    def voices() -> str:
        body = atoms.get_voices()
        catalog["body"] = body
        items = body.get("voices") if isinstance(body, dict) else body
        pro = pro_voice_ids(body)
        return f"{len(items or [])} Lightning v3.1 voice(s), {len(pro)} of the Pro pool"

    checks.append(_try("Voice catalog", voices, "Voices cannot be checked; the plan will not verify voice ids."))
    checks.append(
        _try(
            "Knowledge bases",
            lambda: f"{len(atoms.list_knowledge_bases())} readable",
            "Knowledge bases cannot be migrated without access to them.",
            fail=False,
        )
    )
    checks.append(
        _try(
            "Voice clones",
            lambda: f"{len(atoms.list_voice_clones())} readable",
            "--clone-voices needs access to voice cloning.",
            fail=False,
        )
    )
    checks.append(
        Check(
            "Gated models and workflow types",
            "info",
            f"{', '.join(GATED_MODELS)} and workflow_graph show only on a write (403, §B.1)",
            "`doctor --probe` tries the models on a throw-away agent.",
        )
    )
    return versioning


def _try(name: str, call: Callable[[], Any], hint: str, fail: bool = True) -> Check:
    try:
        return Check(name, "ok", str(call()))
    except ApiError as exc:
        return Check(name, "fail" if fail or exc.status == 401 else "warn", exc.message, exc.hint or hint)


def rate_check(headers: RateHeaders) -> Check:
    if headers.seen:
        return Check("Rate-limit headers", "ok", ", ".join(f"{k}: {v}" for k, v in sorted(headers.seen.items())))
    return Check(
        "Rate-limit headers",
        "info",
        "none seen on these answers (§J.6: Atoms documents none)",
        "429s are still honoured with back-off; --max-rps caps a batch.",
    )


# -- --probe ----------------------------------------------------------------------------------


@dataclass
class ProbeSample:
    """One write of one uncertain field in one form, and the planner-shaped value it must read back as."""

    field: str
    form: str
    body: dict[str, Any]  # planned draft body (planner shape)
    expect: dict[str, Any]  # planner-shaped target the read-back must carry


def samples(table: WriteForms, pro_voice: str | None) -> list[ProbeSample]:
    out = []
    for row in table.fields:
        for form in row.forms:
            body: dict[str, Any]
            if row.field == "prompt":
                body = {"singlePromptConfig": {"prompt": f"You are a probe of atoms-migrate ({form.name})."}}
            elif row.field == "post-call analytics":
                analytics = {
                    "dispositionMetrics": [
                        {
                            "identifier": "probe_outcome",
                            "dispositionMetricPrompt": "Was the probe answered?",
                            "dispositionMetricType": "BOOLEAN",
                        }
                    ]
                }
                body = {"postCallAnalyticsConfig": analytics}
            elif row.field == "timezone":
                body = {"timezone": {"label": "Europe/Istanbul", "offset": 180}}
            else:
                if pro_voice is None:
                    continue
                body = {"synthesizer": {"voiceConfig": {"model": "waves_lightning_v3_1", "voiceId": pro_voice}}}
            out.append(ProbeSample(row.field, form.name, body, body if form.write is not None else {}))
    return out


def probe(
    atoms: AtomsClient,
    report: Report,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[str], None] = lambda _: None,
    table: WriteForms | None = None,
    publish_timeout: float = 120.0,
) -> None:
    """Create the probe agent, write each form, read back, archive; fills ``report``."""
    table = table or load_write_forms()
    report.archived.extend(archive_leftovers(atoms, progress))
    try:
        pro = sorted(pro_voice_ids(atoms.get_voices()))
    except ApiError:
        pro = []  # the read-only checks report the catalog; the Pro form is then not probed
    name = f"{PROBE_PREFIX}{now().strftime('%Y%m%dT%H%M%SZ')}"
    agent_id: str | None = None
    try:
        agent_id = atoms.create_agent(
            {
                "name": name,
                "firstMessage": "Probe.",
                "workflowType": "single_prompt",
                "description": f"Created by `atoms-migrate doctor --probe`. {PROBE_MARKER}",
            }
        )
        report.probe_agent = agent_id
        progress(f"created probe agent {name} ({agent_id})")
        _probe_forms(atoms, report, agent_id, pro, table, sleep, clock, progress, publish_timeout)
    finally:
        if agent_id is not None:
            _archive(atoms, agent_id, report, progress)
        else:  # interrupted while the create was in flight: it may have committed
            report.archived.extend(archive_leftovers(atoms, progress))


def _probe_forms(
    atoms: AtomsClient,
    report: Report,
    agent_id: str,
    pro: list[str],
    table: WriteForms,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    progress: Callable[[str], None],
    publish_timeout: float,
) -> None:
    from atoms_migrate.apply.applier import Applier, ApplyOptions, ApplyResult, list_branches, live_branch, read_live

    try:
        atoms.list_branches(agent_id)
        versioning = "v2"
    except VersioningUnavailable:
        versioning = "v1"
    report.checks.append(Check("Versioning model (probe)", "ok", versioning))
    if versioning == "v1":
        report.checks.append(
            Check("Write forms", "ok", "v1 drafts type every field (§B.8): nothing uncertain to probe")
        )
        return
    applier = Applier(
        atoms,
        ApplyOptions(poll_interval=1.0, publish_timeout=publish_timeout, label="atoms-migrate probe"),
        progress=progress,
        sleep=sleep,
        clock=clock,
    )
    branch = live_branch(list_branches(atoms, agent_id))
    result = ApplyResult(agent_id=agent_id, versioning="v2", created=True, branch_id=branch.id, branch_name="Main")
    result.revision_id = branch.head
    for sample in samples(table, pro[0] if pro else None):
        choices = {sample.field: sample.form}
        wire, _ = wire_body("v2", sample.body, sample.body, table, choices, frozenset(pro))
        kept: bool | None
        note = ""
        if not wire:
            kept, note = True, "nothing is written in this form; the field is reported instead"
        else:
            try:
                applier.write_and_publish(result, wire, None, result.revision_id, raw=True)  # type: ignore[arg-type]  # raw: no plan needed
                config, *_ = read_live(atoms, agent_id, "v2", forms=choices)
                seen = project(config, sample.expect, "v2", table, choices)
                kept = not differences(sample.expect, seen)
            except MigrationError as exc:
                kept, note = False, exc.message
        report.capabilities.append(Capability(sample.field, sample.form, kept, note))
        if kept and sample.field not in report.forms:
            report.forms[sample.field] = sample.form
    if not pro:
        report.capabilities.append(Capability("pro voice model", "(all)", None, "the catalog lists no Pro-pool voice"))
    for row in table.fields:
        if row.field != "pro voice model" and row.field not in report.forms:
            report.checks.append(
                Check(
                    f"Write form of {row.field}",
                    "fail",
                    "no form was kept on this account",
                    f"A migration cannot write {row.field} here ({row.reference}); report it to Smallest.",
                )
            )
    for model in GATED_MODELS:
        try:
            atoms.put_draft(agent_id, str(result.branch_id), {"slmModel": model})
            report.checks.append(Check(f"Model {model}", "ok", "available to this org"))
        except ApiError as exc:
            status = "info" if exc.status == 403 else "warn"
            report.checks.append(
                Check(
                    f"Model {model}",
                    status,
                    "not available to this org (403)" if exc.status == 403 else exc.message,
                    "mappings/llms.yaml picks another model for it.",
                )
            )
    report.checks.append(Check("Workflow type workflow_graph", "info", "not probed (it needs another agent created)"))


def _archive(atoms: AtomsClient, agent_id: str, report: Report, progress: Callable[[str], None]) -> None:
    try:
        atoms.archive_agent(agent_id)
        report.archived.append(agent_id)
        progress(f"archived probe agent {agent_id}")
    except ApiError as exc:
        if exc.status == 409:  # already archived
            report.archived.append(agent_id)
            return
        report.checks.append(
            Check(
                "Probe clean-up",
                "fail",
                f"probe agent {agent_id} could not be archived: {exc.message}",
                f"Archive it in the Atoms dashboard (its name starts with {PROBE_PREFIX}).",
            )
        )


def archive_leftovers(atoms: AtomsClient, progress: Callable[[str], None] = lambda _: None) -> list[str]:
    """Probe agents a killed run left behind (name prefix and marker both required)."""
    done = []
    agents, _ = atoms.list_agents(page=1, page_size=100, search=PROBE_PREFIX)
    for agent in agents:
        if (
            str(agent.get("name", "")).startswith(PROBE_PREFIX)
            and PROBE_MARKER in str(agent.get("description") or "")
            and not agent.get("archived")
        ):
            atoms.archive_agent(str(agent.get("_id")))
            done.append(str(agent.get("_id")))
            progress(f"archived probe agent {agent.get('_id')} left by an interrupted run")
    return done


@dataclass(frozen=True)
class DoctorOptions:
    probe: bool = False  # create the throw-away agent and try each write form
    wait_lock: float = 0.0  # seconds to wait for another run's lock on the state file before recording the forms


def run_doctor(
    atoms: AtomsClient | None,
    elevenlabs: Any | None,
    host: str | None,
    state_path: Path,
    options: DoctorOptions,
    confirm: Callable[[str], bool],
    progress: Callable[[str], None] = lambda _: None,
    prober: Callable[[AtomsClient, Report, Callable[[str], None]], None] | None = None,
) -> Report:
    """Diagnose; with ``options.probe`` (and nothing failed, and ``confirm`` says yes) probe the write forms and
    record the kept ones in the state file; then the rate-limit check. Raises ``Cancelled`` when declined."""
    report = Report()
    headers = RateHeaders()
    if atoms is not None:
        atoms.http.event_hooks["response"].append(headers)
    diagnose(atoms, elevenlabs, host, report)
    if options.probe and atoms is not None and not report.failed:
        if not confirm(
            "Create a throw-away agent on Smallest Atoms to probe the write forms (it is archived afterwards)?"
        ):
            raise Cancelled
        _probe_archiving_on_sigterm(atoms, report, progress, prober or _default_prober)
        if report.forms:
            forms = dict(report.forms)

            def remember(saved: StateFile) -> None:
                saved.write_forms.update(forms)

            with StateLock(state_path, wait=options.wait_lock):
                update_state(state_path, remember)
    report.checks.append(rate_check(headers))
    return report


def _default_prober(atoms: AtomsClient, report: Report, progress: Callable[[str], None]) -> None:
    probe(atoms, report, progress=progress)


def _probe_archiving_on_sigterm(
    atoms: AtomsClient,
    report: Report,
    progress: Callable[[str], None],
    prober: Callable[[AtomsClient, Report, Callable[[str], None]], None],
) -> None:
    """A SIGTERM during the probe becomes a KeyboardInterrupt, so the probe's ``finally`` archives its agent."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        prober(atoms, report, progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
