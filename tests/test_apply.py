"""Applying plans against the in-process sandbox: both versioning models, faults, traps."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from conftest import EXAMPLE, make_source

from atoms_migrate.apply.applier import (
    Applier,
    ApplyOptions,
    ApplyResult,
    DraftOpenError,
    PublishTimeout,
    SecurityScanFailed,
    locate,
)
from atoms_migrate.errors import ApiError
from atoms_migrate.plan.planner import marker, plan_agent
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.sandbox.atoms import FAIL_SCAN_MARK
from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox


@dataclass
class Rig:
    sandbox: Sandbox
    client: AtomsClient
    tables: Any
    notes: list[str] = field(default_factory=list)
    clock_now: float = 0.0

    def clock(self) -> float:
        return self.clock_now

    def sleep(self, seconds: float) -> None:
        self.clock_now += max(seconds, 0.5)

    def run(self, source, state_agent_id: str | None = None, **options: Any) -> tuple[Any, ApplyResult | None]:
        opts = ApplyOptions(poll_interval=1, **options)
        target = locate(self.client, source.key, state_agent_id, opts, self.notes)
        plan = plan_agent(source, self.tables, target.config if target else None, target.agent_id if target else None)
        if plan.action == "no-op":
            return plan, None
        applier = Applier(self.client, opts, sleep=self.sleep, clock=self.clock)
        return plan, applier.apply(plan, target)


@pytest.fixture
def rig(tables) -> Rig:
    return _rig(tables, "v2")


def _rig(tables, versioning: str, scan_reads: int = 1) -> Rig:
    box = Sandbox(versioning=versioning, scan_reads=scan_reads)
    http = httpx.Client(
        base_url="http://sandbox", transport=box.transport(), headers={"Authorization": f"Bearer {ATOMS_KEY}"}
    )
    return Rig(
        box, AtomsClient(http, RetryPolicy(attempts=4, initial_wait=0, max_wait=0, sleep=lambda s: None)), tables
    )


@pytest.fixture
def example():
    import json

    return make_source(json.loads(EXAMPLE.read_text()))


def _live(rig: Rig) -> dict[str, Any]:
    (agent,) = [a for a in rig.sandbox.atoms.summary() if not a["archived"]]
    return agent


def test_create_on_v2_publishes_everything_and_verifies(rig, example) -> None:
    plan, result = rig.run(example)
    assert plan.action == "create" and result.created and result.live and result.differences == []
    live = _live(rig)["live_config"]
    assert live["singlePromptConfig"]["prompt"] == plan.target_config["singlePromptConfig"]["prompt"]
    assert live["postCallAnalyticsConfig"] == plan.target_config["postCallAnalyticsConfig"]  # ignored on create
    assert marker(example.key) in _live(rig)["description"]
    methods = [(e["method"], e["path"].split("/")[-1]) for e in rig.sandbox.writes()]
    assert methods == [("POST", "agent"), ("PUT", "draft"), ("POST", "publish")]


def test_rerun_is_a_no_op_with_zero_writes(rig, example) -> None:
    rig.run(example)
    before = len(rig.sandbox.writes())
    plan, result = rig.run(example)
    assert plan.action == "no-op" and result is None
    assert len(rig.sandbox.writes()) == before


def test_changed_source_updates_the_same_agent_with_only_the_changed_fields(rig, example) -> None:
    _, first = rig.run(example)
    changed = copy.deepcopy(example.raw)
    changed["conversation_config"]["agent"]["first_message"] = "Hello again!"
    rig.sandbox.log.clear()
    plan, result = rig.run(make_source(changed), state_agent_id=first.agent_id)
    assert plan.action == "update" and result.agent_id == first.agent_id and not result.differences
    (_put,) = [e for e in rig.sandbox.writes() if e["method"] == "PUT"]  # exactly one draft write
    assert len(rig.sandbox.atoms.agents) == 1
    assert _live(rig)["live_config"]["firstMessage"] == "Hello again!"
    assert [s.kind for s in plan.steps] == ["draft", "publish", "verify"]
    assert set(plan.steps[0].body) == {"firstMessage"}


def test_lost_state_finds_the_agent_by_marker(rig, example) -> None:
    rig.run(example)
    plan, _ = rig.run(example, state_agent_id=None)
    assert plan.action == "no-op"
    assert any("by its marker" in n for n in rig.notes)


def test_archived_state_agent_is_replaced(rig, example) -> None:
    _, first = rig.run(example)
    rig.sandbox.atoms.agents[first.agent_id].archived = True
    plan, result = rig.run(example, state_agent_id=first.agent_id)
    assert plan.action == "create" and result.agent_id != first.agent_id


@pytest.mark.parametrize("action", ["commit_then_500", "commit_then_drop"])
def test_create_that_commits_then_fails_makes_no_duplicate(rig, example, action) -> None:
    rig.sandbox.add_fault(method="POST", path=r"/atoms/v1/agent$", action=action)
    _, result = rig.run(example)
    assert len(rig.sandbox.atoms.agents) == 1
    assert result.agent_id in rig.sandbox.atoms.agents and not result.differences


def test_create_that_fails_before_committing_is_created_once(rig, example) -> None:
    rig.sandbox.add_fault(method="POST", path=r"/atoms/v1/agent$", action="status", status=502)
    _, result = rig.run(example)
    assert len(rig.sandbox.atoms.agents) == 1 and not result.differences


def test_transient_faults_on_reads_and_draft_are_retried(rig, example) -> None:
    rig.sandbox.add_fault(method="GET", path=r"/branches$", status=429, headers={"Retry-After": "0"}, times=2)
    rig.sandbox.add_fault(method="PUT", path=r"/draft$", action="drop")
    rig.sandbox.add_fault(
        method="PUT",
        path=r"/draft$",
        status=423,
        body={"status": False, "error_type": "config_freeze_active", "errors": ["freeze"]},
    )
    _, result = rig.run(example)
    assert not result.differences and len(rig.sandbox.atoms.agents) == 1


def test_ambiguous_publish_is_not_repeated_blindly(rig, example) -> None:
    rig.sandbox.add_fault(method="POST", path=r"/draft/publish$", action="commit_then_500")
    _, result = rig.run(example)
    assert not result.differences
    assert sum(1 for e in rig.sandbox.log if e["path"].endswith("/publish")) == 1


def test_publish_in_progress_waits_and_retries(rig, example) -> None:
    rig.sandbox.add_fault(
        method="POST",
        path=r"/draft/publish$",
        status=409,
        body={"status": False, "error_type": "publish_in_progress", "errors": ["busy"]},
    )
    _, result = rig.run(example)
    assert not result.differences


def test_someone_elses_open_draft_is_refused_then_discarded_with_force(rig, example) -> None:
    _, first = rig.run(example)
    rig.sandbox.atoms.open_foreign_draft(first.agent_id, {"firstMessage": "Colleague's edit."})
    changed = copy.deepcopy(example.raw)
    changed["name"] = "Renamed"
    changed["conversation_config"]["agent"]["first_message"] = "Ours."
    with pytest.raises(DraftOpenError, match="open draft"):
        rig.run(make_source(changed), state_agent_id=first.agent_id)
    _, result = rig.run(make_source(changed), state_agent_id=first.agent_id, force=True)
    assert _live(rig)["live_config"]["firstMessage"] == "Ours."
    assert any("open draft" in e and "left as it is" in e for e in result.events)  # staged: the draft is not published


def test_failed_security_scan_is_an_error_with_its_reason_and_leaves_no_draft(rig, example) -> None:
    raw = copy.deepcopy(example.raw)
    raw["conversation_config"]["agent"]["prompt"]["prompt"] += " " + FAIL_SCAN_MARK
    with pytest.raises(SecurityScanFailed, match="sandbox marker"):
        rig.run(make_source(raw))
    agent = next(iter(rig.sandbox.atoms.agents.values()))
    assert not any(b.draft for b in agent.branches.values())


def test_publish_wait_is_bounded(tables, example) -> None:
    rig = _rig(tables, "v2", scan_reads=10_000)
    with pytest.raises(PublishTimeout, match="did not finish within 5 s"):
        rig.run(example, publish_timeout=5)


def test_empty_first_message_publishes_with_the_placeholder(rig, tables) -> None:
    source = make_source(
        {"name": "Quiet", "conversation_config": {"agent": {"first_message": "", "prompt": {"prompt": "Listen."}}}}
    )
    plan, result = rig.run(source)
    assert not result.differences
    live = _live(rig)["live_config"]
    assert live["waitForUserToSpeakFirst"] is True and live["firstMessage"] == plan.target_config["firstMessage"]


def test_v1_account_drafts_publishes_waits_and_activates(tables, example) -> None:
    rig = _rig(tables, "v1")
    plan, result = rig.run(example)
    assert result.versioning == "v1" and not result.differences
    paths = [e["path"].rsplit("/", 1)[-1] for e in rig.sandbox.writes()]
    assert paths == ["agent", "drafts", "config", "publish", "activate"]
    plan, again = rig.run(example, state_agent_id=result.agent_id)
    assert plan.action == "no-op"


def test_forcing_v1_on_a_v2_account_switches_on_the_409(rig, example) -> None:
    plan, result = rig.run(example, versioning="v1")
    assert result.versioning == "v2" and not result.differences
    assert any("branch model" in e for e in result.events)


def test_staging_branch_does_not_touch_live_until_made_live(rig, example) -> None:
    _, first = rig.run(example)
    changed = copy.deepcopy(example.raw)
    changed["conversation_config"]["agent"]["first_message"] = "Staged greeting."
    plan, staged = rig.run(make_source(changed), state_agent_id=first.agent_id, branch_name="migration")
    assert not staged.live and staged.branch_name == "migration" and not staged.differences
    assert _live(rig)["live_config"]["firstMessage"] != "Staged greeting."
    rig.client.make_live(first.agent_id, staged.branch_id)
    assert _live(rig)["live_config"]["firstMessage"] == "Staged greeting."


def test_restore_puts_the_previous_revision_back(rig, example) -> None:
    _, first = rig.run(example)
    changed = copy.deepcopy(example.raw)
    changed["conversation_config"]["agent"]["first_message"] = "Second."
    _, second = rig.run(make_source(changed), state_agent_id=first.agent_id)
    applier = Applier(rig.client, ApplyOptions(poll_interval=0), sleep=rig.sleep, clock=rig.clock)
    applier.restore(second, second.previous_revision_id)
    assert _live(rig)["live_config"]["firstMessage"] == example.raw["conversation_config"]["agent"]["first_message"]


def test_gated_model_is_a_403_with_a_hint(rig, tables) -> None:
    source = make_source(
        {
            "name": "G",
            "conversation_config": {"agent": {"first_message": "Hi", "prompt": {"prompt": "x", "llm": "gpt-5.2"}}},
        }
    )
    assert plan_agent(source, tables).target_config["slmModel"] == "gpt-5.2"
    with pytest.raises(ApiError, match="not available for your organization") as info:
        rig.run(source)
    assert "org access" in (info.value.hint or "")
    assert rig.sandbox.atoms.agents == {}


def test_a_staged_branch_that_already_matches_is_reported_as_staged(rig, example) -> None:
    _, first = rig.run(example)
    changed = copy.deepcopy(example.raw)
    changed["conversation_config"]["agent"]["first_message"] = "Staged greeting."
    rig.run(make_source(changed), state_agent_id=first.agent_id, branch_name="migration")
    target = locate(rig.client, example.key, first.agent_id, ApplyOptions(branch_name="Migration"), [])
    assert target.branch_name == "migration" and target.live is False and target.unchanged().live is False
    assert locate(rig.client, example.key, first.agent_id, ApplyOptions(), []).live is True


# -- concurrent edits: detected, never overwritten (§K.1, §C.8) ---------------------------------


def _updated(example, text: str):
    changed = copy.deepcopy(example.raw)
    changed["conversation_config"]["agent"]["first_message"] = text
    return make_source(changed)


def test_a_colleagues_draft_edit_makes_the_direct_write_a_409_not_an_overwrite(rig, example) -> None:
    from atoms_migrate.apply.applier import ConcurrentEdit

    _, first = rig.run(example)
    before = _live(rig)["live_config"]["firstMessage"]
    rig.sandbox.atoms.set_behaviours({"concurrent-edit"})
    with pytest.raises(ConcurrentEdit, match="someone else changed") as info:
        rig.run(_updated(example, "Ours."), state_agent_id=first.agent_id, direct=True)
    assert info.value.fields == ["firstMessage"]  # the conflict diff paths (§C.5 rich variant)
    assert _live(rig)["live_config"]["firstMessage"] == before
    agent = rig.sandbox.atoms.agents[first.agent_id]
    (main,) = agent.branches.values()
    assert main.draft == {"firstMessage": "Edited in the dashboard meanwhile."}  # the colleague's edit survives


def test_a_colleagues_edit_during_staging_keeps_the_staging_branch_and_the_live_one_untouched(rig, example) -> None:
    from atoms_migrate.apply.applier import ConcurrentEdit

    _, first = rig.run(example)
    before = _live(rig)["live_config"]["firstMessage"]
    rig.sandbox.atoms.set_behaviours({"concurrent-edit"})
    with pytest.raises(ConcurrentEdit, match="changed while the migration was staged"):
        rig.run(_updated(example, "Ours."), state_agent_id=first.agent_id)
    assert _live(rig)["live_config"]["firstMessage"] == before
    assert any(name.startswith("atoms-migrate-staging-") for name in _live(rig)["branches"])


def test_a_live_head_that_moved_since_planning_is_refused(rig, example) -> None:
    from atoms_migrate.apply.applier import ConcurrentEdit

    _, first = rig.run(example)
    opts = ApplyOptions(poll_interval=1)
    target = locate(rig.client, example.key, first.agent_id, opts, [])
    plan = plan_agent(_updated(example, "Ours."), rig.tables, target.config, target.agent_id)
    rig.sandbox.atoms.open_foreign_draft(first.agent_id, {"firstMessage": "Published meanwhile."})
    branch = target.branch_id
    rig.client.publish_draft(first.agent_id, branch, "colleague")
    rig.client.list_revisions(first.agent_id, branch)  # the fake's scan finishes on a read
    with pytest.raises(ConcurrentEdit, match="moved since the plan was made"):
        Applier(rig.client, opts, sleep=rig.sleep, clock=rig.clock).apply(plan, target)
    assert _live(rig)["live_config"]["firstMessage"] == "Published meanwhile."


def test_a_staged_update_that_does_not_read_back_equal_never_goes_live(rig, example) -> None:
    _, first = rig.run(example)
    before = _live(rig)["live_config"]
    rig.sandbox.atoms.ignored_draft_fields = {"firstMessage"}
    changed = copy.deepcopy(example.raw)
    changed["conversation_config"]["agent"]["first_message"] = "Ours."
    changed["conversation_config"]["agent"]["prompt"]["prompt"] += " Be kind."
    _, result = rig.run(make_source(changed), state_agent_id=first.agent_id)
    assert result.staged and not result.live and [d[0] for d in result.differences] == ["firstMessage"]
    assert _live(rig)["live_config"] == before
    assert result.branch_name.startswith("atoms-migrate-staging-")
    assert any("left untouched" in e for e in result.events)


def test_direct_updates_the_live_branch_in_place(rig, example) -> None:
    _, first = rig.run(example)
    _, result = rig.run(_updated(example, "Ours."), state_agent_id=first.agent_id, direct=True)
    assert not result.staged and result.live and result.branch_name == "Main"
    assert _live(rig)["branches"] == ["Main"]


def test_v1_update_is_read_back_before_it_is_activated(tables, example) -> None:
    rig = _rig(tables, "v1")
    _, first = rig.run(example)
    active = rig.sandbox.atoms.agents[first.agent_id].active_version_id
    rig.sandbox.add_fault(
        method="PATCH", path=r"/config$", action="status", status=200, body={"status": True, "data": {"draftId": "x"}}
    )  # accepted, not kept
    _, result = rig.run(_updated(example, "Ours."), state_agent_id=first.agent_id)
    assert result.staged and not result.live and result.differences
    assert rig.sandbox.atoms.agents[first.agent_id].active_version_id == active
    assert not any(e["path"].endswith("/activate") for e in rig.sandbox.writes()[-3:])


def test_an_own_write_met_again_by_a_retry_is_not_a_conflict(rig, example) -> None:
    _, first = rig.run(example)
    # The PUT commits, its answer is lost (a 502 on an upsert is retried), and the retry's stale
    # expectedRevision meets our own edit: the conflict's diffs equal what we sent.
    rig.sandbox.add_fault(method="PUT", path=r"/draft$", action="commit_then_500")
    _, result = rig.run(_updated(example, "Ours."), state_agent_id=first.agent_id, direct=True)
    assert result.live and not result.differences and _live(rig)["live_config"]["firstMessage"] == "Ours."


def test_changes_this_account_cannot_take_write_nothing(rig, example) -> None:
    # The recorded form says the account does not keep post-call analytics (learnt on an account with the
    # ignore-post-call-analytics behaviour), so it is never sent: switching that behaviour on here never fired.
    forms = {"post-call analytics": "not accepted"}
    opts = ApplyOptions(poll_interval=1)
    target = None
    plan = plan_agent(example, rig.tables)
    first = Applier(rig.client, opts, sleep=rig.sleep, clock=rig.clock, forms=forms).apply(plan, target)
    target = locate(rig.client, example.key, first.agent_id, opts, [], forms=forms)
    again = plan_agent(example, rig.tables, target.config, target.agent_id)
    assert {c.path.split(".")[0] for c in again.changes} == {"postCallAnalyticsConfig"}
    before = len(rig.sandbox.writes())
    result = Applier(rig.client, opts, sleep=rig.sleep, clock=rig.clock, forms=forms).apply(again, target)
    assert not result.differences and result.revision_id is None and len(rig.sandbox.writes()) == before


def test_a_newer_staged_update_archives_the_superseded_staging_branch_but_keeps_the_rollback_one(rig, example) -> None:
    _, first = rig.run(example)
    _, second = rig.run(_updated(example, "Second."), state_agent_id=first.agent_id)
    _, third = rig.run(_updated(example, "Third."), state_agent_id=first.agent_id)
    branches = _live(rig)["branches"]  # active branches only
    assert third.branch_name in branches and second.branch_name in branches  # live, and the one rollback needs
    assert "Main" in branches  # the default branch cannot be archived
    _, fourth = rig.run(_updated(example, "Fourth."), state_agent_id=first.agent_id)
    assert second.branch_name not in _live(rig)["branches"]
    assert any(f"archived superseded staging branch {second.branch_name!r}" == e for e in fourth.events)
