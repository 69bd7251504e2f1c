"""Make the org resources a plan needs before its agent: voice clones and knowledge bases.

The plan lists them as ``clone_voice`` and ``knowledge_base`` steps, and refers to their
future ids as ``<ref:voice:...>`` / ``<ref:kb:...>`` (refs.py). ``ResourceApplier`` runs
those steps, records each made resource in the state at once (through ``remember``, so an
interrupted run does not make it twice), and returns the bindings the agent applier needs.

Knowledge bases (smallest-atoms-api.md §F.6): found by the state, else by the marker in
their description, else created. Documents already in the knowledge base (same PDF file
name, same URL) are not sent again. URL documents are scraped; PDFs are uploaded as they
are; everything else is rendered to PDF from ElevenLabs' extracted content. A document
that fails is reported and the others go on. Processing is asynchronous: items and scraped
URLs are polled, with a bounded wait, and failures are named.

Voice clones (§E.3): the ElevenLabs sample (else the preview) is downloaded, cut to at
most 15 s / 5 MB where the format allows (``audio.py``), and sent as an instant clone.
Clone creation is a write that costs quota: never repeated blindly; after an ambiguous
failure the re-run finds the clone by its description.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from atoms_migrate.apply.audio import prepare_clip
from atoms_migrate.apply.documents import html_to_text, render_pdf
from atoms_migrate.apply.state import KnowledgeBaseState, StateFile
from atoms_migrate.errors import ConfigError, MigrationError
from atoms_migrate.model import AgentPlan
from atoms_migrate.plan.planner import marker
from atoms_migrate.platforms.elevenlabs import ElevenLabsClient
from atoms_migrate.platforms.smallest import AtomsClient

PENDING = {"pending", "processing", "scraping", "queued", "in_progress"}
FAILED = {"failed", "error", "errored"}


class Tracker(Protocol):
    """Progress of a bounded wait: the CLI shows a rich bar on a terminal, lines otherwise."""

    def update(self, done: int, total: int, description: str) -> None: ...


class _Silent:
    def update(self, done: int, total: int, description: str) -> None:
        pass


@dataclass
class ResourceOutcome:
    bindings: dict[str, str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # per document or voice; the agent still goes on


class ResourceApplier:
    def __init__(
        self,
        atoms: AtomsClient,
        elevenlabs: ElevenLabsClient | None,
        load: Callable[[], StateFile],
        remember: Callable[[Callable[[StateFile], None]], None],
        progress: Callable[[str], None] = lambda _: None,
        tracker: Tracker | None = None,
        font: Path | None = None,
        wait_timeout: float = 300.0,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        clone_lock: threading.Lock | None = None,
    ) -> None:
        # ``load`` reads the state as it is now, ``remember`` changes it: no copy is kept here.
        self.atoms, self.elevenlabs, self.load, self.remember = atoms, elevenlabs, load, remember
        self.progress, self.tracker, self.font = progress, tracker or _Silent(), font
        self.wait_timeout, self.poll_interval, self.sleep, self.clock = wait_timeout, poll_interval, sleep, clock
        self.outcome = ResourceOutcome()
        # Agents of one batch may share a voice: one clone at a time, each checking the latest state first.
        self.clone_lock = clone_lock or threading.Lock()

    def _event(self, text: str) -> None:
        self.outcome.events.append(text)
        self.progress(text)

    def run(self, plan: AgentPlan) -> ResourceOutcome:
        for step in plan.steps:
            if step.kind == "clone_voice":
                self._clone(step.body or {})
            elif step.kind == "knowledge_base":
                self._knowledge_base(step.body or {})
        return self.outcome

    def _source(self, what: str) -> ElevenLabsClient:
        if self.elevenlabs is None:
            raise ConfigError(
                f"{what} needs ELEVENLABS_API_KEY: the content is read from ElevenLabs",
                "Export ELEVENLABS_API_KEY and run again.",
            )
        return self.elevenlabs

    # -- voice clones ------------------------------------------------------------------------

    def _clone(self, body: dict[str, Any]) -> None:
        with self.clone_lock:
            self._clone_once(body)

    def _clone_once(self, body: dict[str, Any]) -> None:
        voice_id, name, ref = str(body["voice_id"]), str(body.get("name") or body["voice_id"]), str(body["ref"])
        tag = f"elevenlabs:{voice_id}"
        known = self.load().voice_clones.get(voice_id) or next(
            (c.voice_id for c in self.atoms.list_voice_clones() if tag in (c.description or "")), None
        )
        if known:
            self.outcome.bindings[ref] = str(known)
            self._remember_clone(voice_id, str(known))
            self._event(f"reusing voice clone {known} of {name}")
            return
        source = self._source("cloning a voice")
        record = source.get_voice(voice_id)
        samples = [s for s in record.get("samples") or [] if isinstance(s, dict) and s.get("sample_id")]
        if samples:
            audio, mime = (
                source.get_voice_sample(voice_id, str(samples[0]["sample_id"])),
                str(samples[0].get("mime_type") or "audio/mpeg"),
            )
        elif record.get("preview_url"):
            audio, mime = source.download(str(record["preview_url"]), f"the preview of voice {name}"), "audio/mpeg"
        else:
            raise MigrationError(
                f"voice {name} has no sample or preview to clone from",
                "Pick a catalog voice instead (run without --clone-voices).",
            )
        try:
            clip = prepare_clip(audio, mime)
        except ValueError as exc:
            raise MigrationError(
                f"voice {name}: {exc}", "Pick a catalog voice instead (run without --clone-voices)."
            ) from exc
        for note in clip.notes:
            self._event(f"{name}: {note}")
        made = self.atoms.create_voice_clone(
            f"{name} (atoms-migrate)",
            clip.data,
            clip.filename,
            clip.mime_type,
            language=str(body.get("language") or "en"),
            description=f"Cloned by atoms-migrate from {tag}. Consent is the owner's responsibility.",
        )
        clone_id = str(made.voice_id)
        self._remember_clone(voice_id, clone_id)
        self.outcome.bindings[ref] = clone_id
        self._event(f"cloned voice {name} as {clone_id}")

    def _remember_clone(self, voice_id: str, clone_id: str) -> None:
        self.remember(lambda state: state.voice_clones.__setitem__(voice_id, clone_id))

    # -- knowledge bases ---------------------------------------------------------------------

    def _knowledge_base(self, body: dict[str, Any]) -> None:
        key, name, ref = str(body["key"]), str(body["name"]), str(body["ref"])
        kb_id = body.get("kb_id")
        if kb_id and self.atoms.get_knowledge_base(kb_id) is None:
            self._event(f"knowledge base {kb_id} is gone; making a new one")
            kb_id = None
        if not kb_id:
            tag = marker(key)
            kb_id = next(
                (kb.id for kb in self.atoms.list_knowledge_bases() if tag in (kb.description or "")),
                None,
            )
            if kb_id:
                self._event(f"found knowledge base {kb_id} by its marker")
            else:
                kb_id = self.atoms.create_knowledge_base(name, f"Migrated from ElevenLabs by atoms-migrate. {tag}")
                self._event(f"created knowledge base {name!r} ({kb_id})")
        kb_id = str(kb_id)
        prior = self.load().knowledge_bases.get(key)
        sent = dict(prior.documents) if prior and prior.kb_id == kb_id else {}
        self._remember_kb(key, kb_id, sent)
        self.outcome.bindings[ref] = kb_id
        # What an earlier run already sent (and Atoms did not reject) is not sent again.
        present_files = {
            str(i.file_name)
            for i in self.atoms.list_kb_items(kb_id)
            if (i.processing_status or "").lower() not in FAILED
        }
        present_urls = {
            str(u.url) for u in self.atoms.list_scraped_urls(kb_id) if (u.status or "").lower() not in FAILED
        }
        waiting: list[str] = []
        for doc in body.get("documents") or []:
            label = f"{doc['send']}:{doc['as']}"
            if doc["as"] in (present_files if doc["send"] != "url" else present_urls):
                sent[doc["id"]] = label  # sent by an earlier run that did not get to record it
                self._remember_kb(key, kb_id, sent)
                continue
            try:
                self._send_document(kb_id, doc)
            except MigrationError as exc:
                self.outcome.failures.append(f"document {doc['name']!r}: {exc.message}")
                self._event(f"document {doc['name']!r} was not sent: {exc.message}")
                continue
            sent[doc["id"]] = label
            self._remember_kb(key, kb_id, sent)
            waiting.append(doc["as"])
            self._event(f"sent {doc['name']!r} ({'URL to scrape' if doc['send'] == 'url' else 'PDF'})")
        if waiting:
            for failed in self._await_processing(kb_id, waiting):
                # Forget it, so the next run sends it again.
                sent = {doc_id: label for doc_id, label in sent.items() if label.split(":", 1)[1] != failed}
                self._remember_kb(key, kb_id, sent)

    def _remember_kb(self, key: str, kb_id: str, documents: dict[str, str]) -> None:
        entry = KnowledgeBaseState(kb_id=kb_id, documents=dict(documents))
        self.remember(lambda state: state.knowledge_bases.__setitem__(key, entry))

    def _send_document(self, kb_id: str, doc: dict[str, Any]) -> None:
        if doc["send"] == "url":
            self.atoms.scrape_urls(kb_id, [doc["as"]])
            return
        source = self._source("migrating knowledge-base documents")
        if doc["send"] == "pdf":
            data = source.get_document_file(doc["id"])
            if not data.startswith(b"%PDF"):
                raise MigrationError("the downloaded file is not a PDF")
        else:
            text = html_to_text(source.get_document_content(doc["id"]))
            if not text:
                raise MigrationError("the document has no text content")
            data, lost = render_pdf(str(doc["name"]), text, self.font)
            if lost:
                self.outcome.failures.append(
                    f"document {doc['name']!r}: {lost} character(s) could not be drawn without a Unicode font "
                    "(set ATOMS_MIGRATE_PDF_FONT to a .ttf file)"
                )
        self.atoms.upload_kb_pdf(kb_id, doc["as"], data)

    def _await_processing(self, kb_id: str, names: list[str]) -> list[str]:
        """Poll items and scraped URLs until ours are done or the wait runs out; the failed ones."""
        deadline = self.clock() + self.wait_timeout
        wanted = set(names)
        while True:
            statuses = {str(i.file_name): (i.processing_status or "").lower() for i in self.atoms.list_kb_items(kb_id)}
            statuses |= {str(u.url): (u.status or "").lower() for u in self.atoms.list_scraped_urls(kb_id)}
            ours = {n: statuses.get(n, "pending") for n in wanted}
            done = [n for n, s in ours.items() if s not in PENDING]
            self.tracker.update(len(done), len(wanted), "knowledge base processing")
            if len(done) == len(wanted):
                break
            if self.clock() >= deadline:
                pending = sorted(n for n in wanted if n not in done)
                self.outcome.failures.append(f"still processing after {self.wait_timeout:.0f} s: {', '.join(pending)}")
                self._event(f"knowledge base still processing {len(pending)} document(s); it finishes on its own")
                return []
            self.sleep(self.poll_interval)
        failed = sorted(n for n, s in ours.items() if s in FAILED)
        for name in failed:
            self.outcome.failures.append(f"document {name!r}: Atoms could not process it")
        self._event(f"knowledge base processed {len(wanted) - len(failed)} of {len(wanted)} document(s)")
        return failed
