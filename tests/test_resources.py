"""Voice clones and knowledge bases (apply/resources.py), in process against the sandbox's transport.

The real ``AtomsClient`` and ``ElevenLabsClient`` talk to the in-process sandbox; the state is a real state file
(``load_state`` / ``update_state``), wired as the run wires it. Each test says which decision it checks: make, reuse
or find a resource; send a document or not; remember it, or forget it so the next run sends it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from test_voices import _wav

from atoms_migrate.apply.resources import ResourceApplier, ResourceOutcome
from atoms_migrate.apply.state import KnowledgeBaseState, StateFile, load_state, save_state, update_state
from atoms_migrate.errors import MigrationError
from atoms_migrate.model import Step
from atoms_migrate.plan.planner import marker
from atoms_migrate.platforms.elevenlabs import ElevenLabsClient
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.sandbox.server import ATOMS_KEY, ELEVENLABS_KEY, Sandbox

KEY = "agent_kb0000000000000000001"
REF = f"<ref:kb:{KEY}>"


@dataclass
class Rig:
    sandbox: Sandbox
    state_path: Path
    atoms: AtomsClient
    elevenlabs: ElevenLabsClient
    now: float = 0.0
    progress: list[str] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def applier(self, with_elevenlabs: bool = True, **options: Any) -> ResourceApplier:
        return ResourceApplier(
            self.atoms,
            self.elevenlabs if with_elevenlabs else None,
            lambda: load_state(self.state_path),
            lambda change: update_state(self.state_path, change),
            progress=self.progress.append,
            poll_interval=1.0,
            sleep=self.sleep,
            clock=self.clock,
            **options,
        )

    def run(self, *steps: Step, **options: Any) -> ResourceOutcome:
        return self.applier(**options).run(SimpleNamespace(steps=steps))  # type: ignore[arg-type]

    @property
    def state(self) -> StateFile:
        return load_state(self.state_path)

    def posts(self, fragment: str) -> list[dict[str, Any]]:
        return [e for e in self.sandbox.writes() if fragment in e["path"]]


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    sandbox = Sandbox(scan_reads=2)  # items and URLs stay processing for two reads of their list
    retry = RetryPolicy(attempts=2, initial_wait=0, max_wait=0, sleep=lambda s: None)
    atoms_http = httpx.Client(
        base_url="http://atoms.sandbox", transport=sandbox.transport(), headers={"Authorization": f"Bearer {ATOMS_KEY}"}
    )
    el_http = httpx.Client(
        base_url="http://elevenlabs.sandbox", transport=sandbox.transport(), headers={"xi-api-key": ELEVENLABS_KEY}
    )
    return Rig(sandbox, tmp_path / "state.json", AtomsClient(atoms_http, retry), ElevenLabsClient(el_http, retry))


def _kb_step(documents: list[dict[str, Any]], kb_id: str | None = None) -> Step:
    body = {"key": KEY, "kb_id": kb_id, "ref": REF, "name": "Support", "documents": documents}
    return Step("knowledge_base", "knowledge base", body)


def _documents(rig: Rig) -> list[dict[str, Any]]:
    """One document of each kind: rendered from text, uploaded as the original PDF, scraped from its URL."""
    el = rig.sandbox.elevenlabs
    el.add_document({"id": "doc_text", "type": "text", "name": "Refunds"}, content="<p>Refunds take 30 days.</p>")
    el.add_document(
        {"id": "doc_pdf", "type": "file", "name": "Prices", "filename": "prices.pdf"},
        file=(b"%PDF-1.4 prices", "application/pdf"),
    )
    return [
        {"id": "doc_text", "name": "Refunds", "send": "render", "as": "Refunds.pdf"},
        {"id": "doc_pdf", "name": "Prices", "send": "pdf", "as": "prices.pdf"},
        {"id": "doc_url", "name": "Help", "send": "url", "as": "https://help.example.com/"},
    ]


def test_a_new_knowledge_base_is_made_with_its_marker_and_every_document_is_sent_and_remembered(rig: Rig) -> None:
    outcome = rig.run(_kb_step(_documents(rig)))
    [kb] = rig.sandbox.atoms.resources.knowledge_bases.values()
    assert marker(KEY) in kb["description"] and kb["name"] == "Support"
    assert outcome.bindings == {REF: kb["_id"]} and outcome.failures == []
    uploads = {name: data for _, name, data in rig.sandbox.atoms.resources.uploads}
    assert sorted(uploads) == ["Refunds.pdf", "prices.pdf"]
    assert uploads["prices.pdf"] == b"%PDF-1.4 prices" and uploads["Refunds.pdf"].startswith(b"%PDF")  # rendered
    assert [u["url"] for u in rig.sandbox.atoms.resources.scraped[kb["_id"]]] == ["https://help.example.com/"]
    assert rig.state.knowledge_bases[KEY] == KnowledgeBaseState(
        kb_id=kb["_id"],
        documents={
            "doc_text": "render:Refunds.pdf",
            "doc_pdf": "pdf:prices.pdf",
            "doc_url": "url:https://help.example.com/",
        },
    )
    assert rig.now > 0  # it waited for processing (two reads), by the injected clock
    assert outcome.events[-1] == "knowledge base processed 3 of 3 document(s)" and rig.progress == outcome.events


def test_a_second_run_finds_the_knowledge_base_by_its_marker_and_sends_nothing_again(rig: Rig) -> None:
    documents = _documents(rig)
    rig.run(_kb_step(documents))
    writes = len(rig.sandbox.writes())
    save_state(rig.state_path, StateFile())  # the state is a cache: lost, the marker still finds the base
    outcome = rig.run(_kb_step(documents))
    [kb_id] = rig.sandbox.atoms.resources.knowledge_bases
    assert len(rig.sandbox.writes()) == writes  # no new knowledge base, upload or scrape
    assert outcome.events[0] == f"found knowledge base {kb_id} by its marker" and outcome.bindings == {REF: kb_id}
    # what was found in the base is recorded, so the plan of the next run lists it as sent
    assert sorted(rig.state.knowledge_bases[KEY].documents) == ["doc_pdf", "doc_text", "doc_url"]


def test_a_knowledge_base_the_plan_names_but_atoms_lost_is_made_again(rig: Rig) -> None:
    outcome = rig.run(_kb_step([], kb_id="0" * 24))
    [kb_id] = rig.sandbox.atoms.resources.knowledge_bases
    assert outcome.events[:2] == [
        f"knowledge base {'0' * 24} is gone; making a new one",
        f"created knowledge base 'Support' ({kb_id})",
    ]
    assert rig.state.knowledge_bases[KEY] == KnowledgeBaseState(kb_id=kb_id)


def test_documents_recorded_for_another_knowledge_base_are_not_trusted(rig: Rig) -> None:
    documents = _documents(rig)
    update_state(
        rig.state_path,
        lambda s: s.knowledge_bases.__setitem__(KEY, KnowledgeBaseState(kb_id="old", documents={"doc_pdf": "x"})),
    )
    rig.run(_kb_step(documents))
    assert len(rig.sandbox.atoms.resources.uploads) == 2  # sent to the new base, whatever the old entry said


def test_a_document_atoms_fails_to_process_is_reported_and_forgotten_so_the_next_run_sends_it(rig: Rig) -> None:
    rig.sandbox.elevenlabs.add_document({"id": "doc_ok", "type": "text", "name": "Ok"}, content="<p>fine</p>")
    rig.sandbox.elevenlabs.add_document({"id": "doc_bad", "type": "text", "name": "Bad"}, content="<p>broken</p>")
    documents = [
        {"id": "doc_ok", "name": "Ok", "send": "render", "as": "Ok.pdf"},
        {"id": "doc_bad", "name": "Bad", "send": "render", "as": "sandbox-fail.pdf"},
    ]
    outcome = rig.run(_kb_step(documents))
    assert outcome.failures == ["document 'sandbox-fail.pdf': Atoms could not process it"]
    assert rig.state.knowledge_bases[KEY].documents == {"doc_ok": "render:Ok.pdf"}
    assert outcome.events[-1] == "knowledge base processed 1 of 2 document(s)"
    again = rig.run(_kb_step(documents))  # the failed item is not "present": it is sent again
    assert [name for _, name, _ in rig.sandbox.atoms.resources.uploads] == [
        "Ok.pdf",
        "sandbox-fail.pdf",
        "sandbox-fail.pdf",
    ]
    assert again.failures == ["document 'sandbox-fail.pdf': Atoms could not process it"]


def test_processing_past_the_wait_is_reported_and_the_documents_stay_recorded(rig: Rig) -> None:
    rig.sandbox.atoms.resources.process_reads = 1000
    outcome = rig.run(_kb_step(_documents(rig)), wait_timeout=5.0)
    assert outcome.failures == ["still processing after 5 s: Refunds.pdf, https://help.example.com/, prices.pdf"]
    assert 5.0 <= rig.now <= 6.0  # polled every second until the wait ran out
    assert outcome.events[-1] == "knowledge base still processing 3 document(s); it finishes on its own"
    assert len(rig.state.knowledge_bases[KEY].documents) == 3  # sent: not sent again by the next run


def test_without_an_elevenlabs_key_url_documents_still_go_and_the_others_are_named(rig: Rig) -> None:
    documents = _documents(rig)
    outcome = rig.run(_kb_step(documents), with_elevenlabs=False)
    assert outcome.failures == [
        "document 'Refunds': migrating knowledge-base documents needs ELEVENLABS_API_KEY: the content is read from "
        "ElevenLabs",
        "document 'Prices': migrating knowledge-base documents needs ELEVENLABS_API_KEY: the content is read from "
        "ElevenLabs",
    ]
    assert rig.state.knowledge_bases[KEY].documents == {"doc_url": "url:https://help.example.com/"}


def test_a_document_that_is_not_what_it_claims_is_not_sent(rig: Rig) -> None:
    el = rig.sandbox.elevenlabs
    el.add_document({"id": "doc_fake", "type": "file", "name": "Fake"}, file=(b"<html>not a pdf", "application/pdf"))
    el.add_document({"id": "doc_empty", "type": "text", "name": "Empty"}, content="<p>  </p>")
    outcome = rig.run(
        _kb_step(
            [
                {"id": "doc_fake", "name": "Fake", "send": "pdf", "as": "fake.pdf"},
                {"id": "doc_empty", "name": "Empty", "send": "render", "as": "Empty.pdf"},
            ]
        )
    )
    assert outcome.failures == [
        "document 'Fake': the downloaded file is not a PDF",
        "document 'Empty': the document has no text content",
    ]
    assert rig.sandbox.atoms.resources.uploads == [] and rig.state.knowledge_bases[KEY].documents == {}


# -- voice clones ------------------------------------------------------------------------------------------------


def _clone_step(voice_id: str = "voice_el_1", name: str = "Harriet") -> Step:
    body = {"voice_id": voice_id, "name": name, "ref": f"<ref:voice:{voice_id}>", "language": "en"}
    return Step("clone_voice", "clone", body)


def test_a_voice_is_cloned_from_its_sample_once_and_reused_from_the_state(rig: Rig) -> None:
    rig.sandbox.elevenlabs.add_voice({"voice_id": "voice_el_1", "name": "Harriet"}, _wav(20), "audio/wav")
    outcome = rig.run(_clone_step())
    [clone] = rig.sandbox.atoms.resources.clones.values()
    assert clone["displayName"] == "Harriet (atoms-migrate)" and clone["audioFileNames"][0].endswith(".wav")
    assert clone["size"] < len(_wav(20))  # cut to at most 15 s
    assert outcome.bindings == {"<ref:voice:voice_el_1>": clone["voiceId"]}
    assert rig.state.voice_clones == {"voice_el_1": clone["voiceId"]}
    assert outcome.events[-1] == f"cloned voice Harriet as {clone['voiceId']}"
    again = rig.run(_clone_step(), with_elevenlabs=False)  # a re-run needs neither the sample nor a new clone
    assert len(rig.sandbox.atoms.resources.clones) == 1 and again.bindings == outcome.bindings
    assert again.events == [f"reusing voice clone {clone['voiceId']} of Harriet"]


def test_a_clone_made_by_a_run_that_never_recorded_it_is_found_by_its_description(rig: Rig) -> None:
    # An ambiguous failure: the clone exists on Atoms, the state does not know it. (The sandbox does not keep
    # descriptions, so the clone is seeded as Atoms lists it.)
    rig.sandbox.atoms.resources.clones["voice_made"] = {
        "voiceId": "voice_made",
        "displayName": "Harriet (atoms-migrate)",
        "description": "Cloned by atoms-migrate from elevenlabs:voice_el_1. Consent is the owner's responsibility.",
    }
    outcome = rig.run(_clone_step(), with_elevenlabs=False)
    assert outcome.bindings == {"<ref:voice:voice_el_1>": "voice_made"}
    assert rig.state.voice_clones == {"voice_el_1": "voice_made"} and rig.posts("voice-cloning") == []


def test_a_voice_without_sample_or_preview_stops_with_a_hint(rig: Rig) -> None:
    rig.sandbox.elevenlabs.add_voice({"voice_id": "voice_el_2", "name": "Silent"})
    with pytest.raises(MigrationError, match="voice Silent has no sample or preview to clone from") as caught:
        rig.run(_clone_step("voice_el_2", "Silent"))
    assert "--clone-voices" in (caught.value.hint or "") and rig.state.voice_clones == {}


def test_cloning_needs_the_elevenlabs_key_when_the_clone_is_not_known(rig: Rig) -> None:
    with pytest.raises(MigrationError, match="cloning a voice needs ELEVENLABS_API_KEY"):
        rig.run(_clone_step(), with_elevenlabs=False)
    assert rig.posts("voice-cloning") == []


def test_steps_of_other_kinds_are_left_to_the_agent_applier(rig: Rig) -> None:
    outcome = rig.run(Step("create", "create"), Step("draft", "draft", {"x": 1}))
    assert outcome == ResourceOutcome() and rig.sandbox.writes() == []
