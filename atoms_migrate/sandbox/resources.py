"""Fake Atoms knowledge bases (smallest-atoms-api.md §F.6) and voice clones (§E.3).

Kept apart from the agent fake because they are org resources an agent only points at.
Knowledge bases take PDF uploads only (MIME, extension and magic checked), have no text
upload (``upload-text`` is a 404, as the helper expects), and process items and scraped
URLs asynchronously: each stays ``processing``/``pending`` for ``process_reads`` reads of
its list, then becomes ``completed``/``indexed``, or ``failed`` when its file name or URL
holds ``sandbox-fail``. Voice clones take multipart ``displayName`` + ``file`` (allowed
MIME types, at most 5 MB) and get a ``voice_`` id that agents may then use.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import re
from typing import Any

from atoms_migrate.sandbox.wire import FakeRequest, FakeResponse, json_response

CLONE_MIME = {
    "audio/mpeg",
    "audio/mpeg-3",
    "audio/wav",
    "audio/wave",
    "audio/webm",
    "video/webm",
    "audio/mp4",
    "video/mp4",
}
CLONE_MAX_BYTES = 5 * 1024 * 1024
FAIL_MARK = "sandbox-fail"


def _error(status: int, message: str) -> FakeResponse:
    return json_response(status, {"status": False, "errors": [message]})


def parse_multipart(req: FakeRequest) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """(form fields, files as (filename, bytes, content type)) of a multipart/form-data body."""
    content_type = req.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return {}, {}
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + req.body
    )
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):  # a nested multipart part decodes to None
            payload = b""
        filename = part.get_filename()
        if filename:
            files[str(name)] = (filename, payload, part.get_content_type())
        else:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields, files


class FakeResources:
    def __init__(self, process_reads: int = 1) -> None:
        self.process_reads = process_reads
        self.knowledge_bases: dict[str, dict[str, Any]] = {}
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.scraped: dict[str, list[dict[str, Any]]] = {}
        self.clones: dict[str, dict[str, Any]] = {}
        self.uploads: list[tuple[str, str, bytes]] = []  # (kb id, file name, bytes) as received
        self._ids = itertools.count(1)

    def _id(self, prefix: str = "") -> str:
        return f"{prefix}{next(self._ids):024x}"

    # -- knowledge bases ------------------------------------------------------------------------

    def handle_kb(self, req: FakeRequest, path: str) -> FakeResponse | None:
        """``path`` is below /atoms/v1; None when it is not a knowledge-base route."""
        if path == "/knowledgebase":
            if req.method == "GET":
                return json_response(200, {"status": True, "data": list(self.knowledge_bases.values())})
            if req.method == "POST":
                return self._create_kb(req)
        m = re.fullmatch(r"/knowledgebase/([^/]+)(/.*)?", path)
        if not m:
            return None
        kb_id, rest = m.group(1), m.group(2) or ""
        kb = self.knowledge_bases.get(kb_id)
        if kb is None:
            return _error(404, "Knowledge base not found")
        if req.method == "GET" and rest == "":
            return json_response(200, {"status": True, "data": kb})
        if req.method == "GET" and rest == "/items":
            return json_response(
                200, {"status": True, "data": self._advance(self.items[kb_id], "processingStatus", "completed")}
            )
        if req.method == "GET" and rest == "/scraped-urls":
            return json_response(200, {"data": self._advance(self.scraped[kb_id], "status", "indexed")})
        if req.method == "POST" and rest == "/items/upload-media":
            return self._upload(req, kb_id)
        if req.method == "POST" and rest == "/scrape-urls":
            urls = (req.json() or {}).get("urls")
            if (
                not isinstance(urls, list)
                or not urls
                or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls)
            ):
                return _error(400, "urls must be a non-empty list of http(s) URLs")
            for url in urls:
                self.scraped[kb_id].append({"_id": self._id(), "url": url, "status": "pending", "_reads": 0})
            return json_response(200, {"status": True, "data": {"queued": len(urls)}})
        return None  # upload-text and anything else: the caller answers the HTML 404

    def _create_kb(self, req: FakeRequest) -> FakeResponse:
        body = req.json() or {}
        given = body.get("name")
        name = given.strip() if isinstance(given, str) else ""
        if not 1 <= len(name) <= 40:
            return _error(400, "name must be 1-40 characters")
        kb_id = self._id()
        self.knowledge_bases[kb_id] = {
            "_id": kb_id,
            "name": name,
            "description": body.get("description", ""),
            "processingStatus": "completed",
            "organization": "sandbox",
        }
        self.items[kb_id], self.scraped[kb_id] = [], []
        return json_response(201, {"status": True, "data": kb_id})

    def _upload(self, req: FakeRequest, kb_id: str) -> FakeResponse:
        _, files = parse_multipart(req)
        if "media" not in files:
            return _error(400, "No file provided (field media)")
        filename, data, content_type = files["media"]
        if content_type != "application/pdf" or not filename.lower().endswith(".pdf") or not data.startswith(b"%PDF"):
            return _error(400, "Only PDF files are supported")
        self.uploads.append((kb_id, filename, data))
        self.items[kb_id].append(
            {
                "_id": self._id(),
                "itemType": "file",
                "knowledgeBaseId": kb_id,
                "fileName": filename,
                "contentType": content_type,
                "size": len(data),
                "processingStatus": "processing",
                "_reads": 0,
            }
        )
        return json_response(201, {"status": True})

    def _advance(self, entries: list[dict[str, Any]], status_key: str, done: str) -> list[dict[str, Any]]:
        out = []
        for entry in entries:
            if entry[status_key] in ("processing", "pending"):
                entry["_reads"] += 1
                if entry["_reads"] >= self.process_reads:
                    label = str(entry.get("fileName") or entry.get("url") or "")
                    entry[status_key] = "failed" if FAIL_MARK in label else done
            out.append({k: v for k, v in entry.items() if not k.startswith("_") or k == "_id"})
        return out

    # -- voice clones ---------------------------------------------------------------------------

    def handle_clones(self, req: FakeRequest) -> FakeResponse | None:
        if req.path != "/waves/v1/voice-cloning":
            return None
        if req.method == "GET":
            return json_response(200, {"data": list(self.clones.values())})
        if req.method != "POST":
            return None
        fields, files = parse_multipart(req)
        if "file" not in files:
            return json_response(400, {"error": "No file provided"})
        if not 1 <= len(fields.get("displayName", "")) <= 500:
            return json_response(400, {"error": "displayName is required"})
        filename, data, content_type = files["file"]
        if content_type not in CLONE_MIME:
            return json_response(400, {"error": f"Invalid file type {content_type}"})
        if len(data) > CLONE_MAX_BYTES:
            return json_response(400, {"error": "File too large"})
        voice_id = "voice_" + self._id()[-10:]
        clone = {
            "_id": self._id(),
            "voiceId": voice_id,
            "displayName": fields["displayName"],
            "status": "completed",
            "language": fields.get("language", "en"),
            "cloningType": "instant",
            "modelIds": ["lightning-v3.1"],
            "audioFileNames": [filename],
            "size": len(data),
        }
        self.clones[voice_id] = clone
        return json_response(200, {"message": "Voice clone created successfully", "data": clone})
