"""Smallest Atoms REST client: agents, v2 branches and revisions, v1 drafts and versions.

One method per endpoint of smallest-atoms-api.md §B and §C, over an injected
``httpx.Client`` whose base URL is the API host (``atoms_base_urls`` derives it). The
client never reads the environment and never prints; every failure is an ``ApiError``
carrying the HTTP status and the ``error_type`` discriminator (§G.1) as ``code``.

Retry policy per request kind (§G.3, §H.15): reads, and the draft PUT/PATCH (an upsert:
sending it twice leaves the same draft), are retried on 429, 423, 5xx, timeouts and
dropped connections. Other writes are retried only on answers that prove nothing was done
(429 rate limited, 423 config freeze); a timeout, dropped connection or 5xx on them
raises ``AmbiguousWriteError`` so the caller can look before it writes again. No ``null``
is ever sent (§H.11): bodies are stripped of None values first.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from atoms_migrate.errors import ApiError, ConfigError
from atoms_migrate.platforms.retry import RETRYABLE_STATUS, RetryPolicy, send_with_retries
from atoms_migrate.platforms.smallest_models import (
    AgentPage,
    DraftDetail,
    KnowledgeBase,
    KnowledgeBaseItem,
    PublishResult,
    Revision,
    ScrapedUrl,
    VoiceClone,
    Webhook,
    WebhookSubscription,
    parse,
    parse_list,
    shape_error,
)

DEFAULT_HOST = "https://api.smallest.ai"
ATOMS_PREFIX = "/atoms/v1"
WAVES_PREFIX = "/waves/v1"
MIGRATION_REQUIRED = "versioning_v2_migration_required"
CONFIG_FREEZE = "config_freeze_active"
PUBLISH_IN_PROGRESS = "publish_in_progress"
# Rejections that prove the write did not happen, so sending it again is safe.
REJECTED_UNDONE = frozenset({423, 429})
UPSERT_RETRY = RETRYABLE_STATUS | {423}
V1_DRAFT_NAME = "atoms-migrate"  # names our v1 drafts, so one made by an ambiguous POST can be found


class AmbiguousWriteError(ApiError):
    """A write may or may not have happened (timeout, dropped connection, 5xx)."""


class DraftConflictError(ApiError):
    """409 on a draft write: the branch's draft moved since ``expectedRevision`` (§C.5, §C.8).

    ``fields`` names what the other edit changed (``<section>.<field>`` paths, or the
    conflict's diff paths); ``base_unavailable`` is the ``base_revision_unavailable`` flavour.
    """

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        fields: list[str] | None = None,
        base_unavailable: bool = False,
        diffs: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, hint, **kwargs)
        self.fields = list(fields or [])
        self.base_unavailable = base_unavailable
        self.diffs = list(diffs or [])  # the rich variant's ``data.conflict.diffs``: [{path, newValue, ...}]


class VersioningUnavailable(ApiError):
    """The v2 branch API is missing on this account (404, HTML, non-JSON): use v1 (§C.4)."""


def atoms_base_urls(value: str | None) -> tuple[str, str, str]:
    """(host, atoms base, waves base) from a host root or a URL ending in /atoms/v1 (§G.5)."""
    raw = (value or DEFAULT_HOST).strip().rstrip("/")
    if raw.endswith(ATOMS_PREFIX):
        raw = raw[: -len(ATOMS_PREFIX)].rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"SMALLEST_BASE_URL {value!r} is not an http(s) URL",
            "Use a host root such as https://api.smallest.ai (or …/atoms/v1).",
        )
    return raw, raw + ATOMS_PREFIX, raw + WAVES_PREFIX


def strip_nulls(value: Any) -> Any:
    """Remove None values at any depth: Atoms rejects nulls on optional fields (§H.11)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value if v is not None]
    return value


def parse_error(response: httpx.Response) -> tuple[str | None, str]:
    """(error_type, message) from any documented Atoms error body (§G.1), HTML included."""
    try:
        body = jsonlib.loads(response.text, strict=False)
    except ValueError:
        first = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        if "<" in first:
            first = "an HTML page (the route does not exist on this host)"
        return None, first or response.reason_phrase
    if not isinstance(body, dict):
        return None, response.reason_phrase
    code = body.get("error_type") or body.get("code")
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        message = "; ".join(str(e) for e in errors)
    else:
        message = str(body.get("message") or body.get("error") or code or response.reason_phrase)
    return (str(code) if code else None), message


def as_object(data: Any, what: str, endpoint: str) -> dict[str, Any]:
    """A 200 answer that must be an object (else an ``ApiError`` naming the endpoint)."""
    if not isinstance(data, dict):
        raise shape_error(what, endpoint, "an object", data)
    return data


def as_objects(data: Any, what: str, endpoint: str) -> list[dict[str, Any]]:
    """A 200 answer that must be an array of objects (else an ``ApiError`` naming the endpoint)."""
    if not isinstance(data, list):
        raise shape_error(what, endpoint, "an array", data)
    for item in data:
        if not isinstance(item, dict):
            raise shape_error(what, endpoint, "an array of objects", item)
    return data


def _is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


class AtomsClient:
    """Calls the Atoms REST API; ``http`` has the API host as its base URL."""

    def __init__(self, http: httpx.Client, retry: RetryPolicy | None = None) -> None:
        self.http = http
        self.retry = retry or RetryPolicy()
        # What this account was seen to support, probed once and shared by every agent of a run.
        self.capabilities: dict[str, bool] = {}

    # -- plumbing -------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        kind: str = "read",
        prefix: str = ATOMS_PREFIX,
        files: Any = None,
        form: dict[str, Any] | None = None,
    ) -> httpx.Response:
        url = prefix + path
        payload = strip_nulls(body) if body is not None else None
        statuses = {"read": RETRYABLE_STATUS, "upsert": UPSERT_RETRY, "write": REJECTED_UNDONE}[kind]
        policy = self.retry
        try:
            if kind == "write":
                # Transport errors on a write are ambiguous: never repeat them here.
                policy = replace(policy, transport_retries=False)
            return send_with_retries(
                self.http,
                method,
                url,
                policy,
                params=params,
                json=payload,
                retry_statuses=statuses,
                files=files,
                data=form,
            )
        except httpx.TimeoutException as exc:
            if kind == "write":
                raise AmbiguousWriteError(
                    f"Atoms did not answer in time {what}; it may or may not have been done",
                    "Re-run: atoms-migrate looks before it writes again.",
                ) from exc
            raise ApiError(
                f"Atoms did not answer in time {what} ({type(exc).__name__})",
                "Try again; check SMALLEST_BASE_URL and your network.",
            ) from exc
        except httpx.TransportError as exc:
            if kind == "write":
                raise AmbiguousWriteError(
                    f"the connection to Atoms dropped {what}; it may or may not have been done",
                    "Re-run: atoms-migrate looks before it writes again.",
                ) from exc
            raise ApiError(
                f"Could not reach Atoms at {self.http.base_url} {what}: {exc}",
                "Check SMALLEST_BASE_URL and your network.",
            ) from exc

    def _data(self, response: httpx.Response, what: str) -> Any:
        if not response.is_success:
            raise self.error(response, what)
        try:
            body = jsonlib.loads(response.text, strict=False)  # §G.1: control characters occur
        except ValueError as exc:
            raise ApiError(
                f"Atoms answered {what} with a body that is not JSON",
                "Check SMALLEST_BASE_URL points at the API host.",
                status=response.status_code,
            ) from exc
        if isinstance(body, dict) and "data" in body:
            return body["data"]
        return body

    def error(self, response: httpx.Response, what: str, kind: str = "read") -> ApiError:
        status = response.status_code
        code, message = parse_error(response)
        request_id = response.headers.get("x-request-id")
        rid = f" [x-request-id {request_id}]" if request_id else ""
        suffix = f" ({status}{' ' + code if code else ''}): {message}{rid}"
        args = {"status": status, "code": code, "request_id": request_id}
        if status == 401 or (status == 500 and "verifying token" in message):
            return ApiError(
                f"Atoms rejected the API key {what}{suffix}",
                "Check SMALLEST_API_KEY (keys start with sk_) and SMALLEST_BASE_URL's region.",
                **args,
            )
        if status == 403:
            return ApiError(
                f"Atoms refused {what}{suffix}",
                "Gated models and workflow types need org access (§B.1); pick another in mappings/llms.yaml.",
                **args,
            )
        if status == 423 or code == CONFIG_FREEZE:
            return ApiError(
                f"Atoms is in a config freeze {what}{suffix}",
                "Writes are paused for maintenance; re-run after the window (reads still work).",
                **args,
            )
        if status == 429:
            return ApiError(
                f"Atoms still rate-limited {what} after {self.retry.attempts} attempts{suffix}",
                "Try again later, or lower concurrency.",
                **args,
            )
        if status >= 500 and kind == "write":
            return AmbiguousWriteError(
                f"Atoms failed {what}{suffix}; it may or may not have been done",
                "Re-run: atoms-migrate looks before it writes again.",
                **args,
            )
        if status >= 500:
            return ApiError(
                f"Atoms failed {what}{suffix}", "Try again later; quote the x-request-id to support.", **args
            )
        return ApiError(f"Atoms refused {what}{suffix}", **args)

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        kind: str = "read",
        prefix: str = ATOMS_PREFIX,
        files: Any = None,
        form: dict[str, Any] | None = None,
    ) -> Any:
        response = self._send(
            method, path, what, body=body, params=params, kind=kind, prefix=prefix, files=files, form=form
        )
        if not response.is_success:
            raise self.error(response, what, kind)
        return self._data(response, what)

    # -- agents (§B.1–B.5) ----------------------------------------------------------------

    def create_agent(self, body: dict[str, Any]) -> str:
        data = self._call("POST", "/agent", "creating the agent", body=body, kind="write")
        agent_id = data.get("_id") if isinstance(data, dict) else data  # §B.1: bare id, or {_id}
        if not isinstance(agent_id, str) or not agent_id:
            raise ApiError("Atoms created an agent but did not say its id", "Look for it in the Atoms dashboard.")
        return agent_id

    def get_agent(self, agent_id: str) -> dict[str, Any] | None:
        """The agent document, or None when Atoms says there is no such agent (400/404, §H.17)."""
        response = self._send("GET", f"/agent/{agent_id}", f"reading agent {agent_id}")
        if response.status_code in (400, 404):
            _, message = parse_error(response)
            if response.status_code == 404 or "no agent found" in message.lower():
                return None
        # A 200 that is not an agent object must not read as "gone": that would create a duplicate.
        return as_object(
            self._data(response, f"reading agent {agent_id}"), f"reading agent {agent_id}", "GET /agent/{id}"
        )

    def list_agents(
        self, page: int = 1, page_size: int = 100, search: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of agents and whether more follow (§B.3: ``offset`` is the page size)."""
        params: dict[str, Any] = {"page": page, "offset": page_size, "sortField": "createdAt", "sortOrder": "desc"}
        if search:
            params["search"] = search
        data = self._call("GET", "/agent", "listing agents", params=params)
        if isinstance(data, list):
            return as_objects(data, "listing agents", "GET /agent"), False
        listing = parse(AgentPage, data, "listing agents", "GET /agent")
        if listing.has_more is not None:
            return listing.agents, listing.has_more
        total = listing.total if listing.total is not None else listing.total_count
        more = total is not None and page * page_size < total
        return listing.agents, more and bool(listing.agents)

    def update_metadata(self, agent_id: str, body: dict[str, Any]) -> None:
        self._call("PATCH", f"/agent/{agent_id}", "updating the agent's name and description", body=body, kind="upsert")

    def archive_agent(self, agent_id: str, on: bool = True) -> None:
        self._call(
            "DELETE", f"/agent/{agent_id}/archive", "archiving the agent", params={"on": str(on).lower()}, kind="write"
        )

    # -- v2 branches and revisions (§C.2) --------------------------------------------------

    def list_branches(self, agent_id: str) -> list[dict[str, Any]]:
        what = f"listing branches of agent {agent_id}"
        response = self._send("GET", f"/agent/{agent_id}/branches", what)
        if response.status_code == 404 or (response.is_success and not _is_json(response)):
            raise VersioningUnavailable(f"Atoms has no branch API for agent {agent_id}", status=response.status_code)
        data = self._data(response, what)
        branches = data.get("branches") if isinstance(data, dict) else data
        if not isinstance(branches, list):
            raise VersioningUnavailable(f"Atoms answered {what} without a branch list", status=response.status_code)
        return as_objects(branches, what, "GET /agent/{id}/branches")

    def create_branch(self, agent_id: str, source_branch_id: str, name: str) -> None:
        """§C.2: answers the ``Branch``; callers read it back from the listing, which carries the flags too."""
        self._call(
            "POST",
            f"/agent/{agent_id}/branches",
            f"creating branch {name!r}",
            body={"sourceBranchId": source_branch_id, "name": name},
            kind="write",
        )

    def put_draft(
        self, agent_id: str, branch_id: str, body: dict[str, Any], expected_revision: int | None = None
    ) -> dict[str, Any]:
        """Upsert the branch draft; the Revision snapshot (``draftRevision``) it answers.

        With ``expected_revision`` (§K.1) a draft moved by someone else is a
        ``DraftConflictError`` instead of a silent overwrite.
        """
        what = "writing the draft"
        payload = dict(body) if expected_revision is None else {**body, "expectedRevision": expected_revision}
        response = self._send("PUT", f"/agent/{agent_id}/branches/{branch_id}/draft", what, body=payload, kind="upsert")
        if response.status_code == 409:
            raise self._conflict(response, what)
        data = self._data(response, what)
        return data if isinstance(data, dict) else {}

    def _conflict(self, response: httpx.Response, what: str) -> ApiError:
        """The three 409 flavours of a draft write (§C.5, §C.8)."""
        try:
            body = jsonlib.loads(response.text, strict=False)
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if body.get("error_type") == MIGRATION_REQUIRED:
            return self.error(response, what)
        errors = [str(e) for e in body.get("errors") or []] if isinstance(body.get("errors"), list) else []
        conflict = (body.get("data") or {}).get("conflict") if isinstance(body.get("data"), dict) else None
        request_id = response.headers.get("x-request-id")
        if errors == ["base_revision_unavailable"]:
            return DraftConflictError(
                f"Atoms no longer has the draft revision this write was based on ({what})",
                status=409,
                code="base_revision_unavailable",
                request_id=request_id,
                base_unavailable=True,
            )
        fields = [
            str(d.get("path")) for d in (conflict or {}).get("diffs") or [] if isinstance(d, dict) and d.get("path")
        ]
        fields = fields or [e for e in errors if "." in e]
        return DraftConflictError(
            f"someone else changed this agent's draft while atoms-migrate was writing it"
            f"{' (' + ', '.join(fields) + ')' if fields else ''}; nothing was overwritten",
            "Look at the change in the Atoms dashboard, then re-run: the plan is made again against it.",
            status=409,
            code="draft_conflict",
            request_id=request_id,
            fields=fields,
            diffs=[d for d in (conflict or {}).get("diffs") or [] if isinstance(d, dict)],
        )

    def archive_branch(self, agent_id: str, branch_id: str) -> None:
        """§C.2: no body; 403 for Main or the live branch."""
        self._call("POST", f"/agent/{agent_id}/branches/{branch_id}/archive", "archiving a branch", kind="upsert")

    def get_branch_draft(self, agent_id: str, branch_id: str) -> DraftDetail | None:
        """The open draft's ``DraftDetail {latest, editCount, editHistory}`` (§C.2); None when none is open (404)."""
        what = "reading the open draft"
        response = self._send("GET", f"/agent/{agent_id}/branches/{branch_id}/draft", what)
        if response.status_code == 404:
            return None
        return parse(DraftDetail, self._data(response, what), what, "GET /agent/{id}/branches/{branchId}/draft")

    def get_agent_at(
        self, agent_id: str, *, draft_id: str | None = None, version_id: str | None = None
    ) -> dict[str, Any] | None:
        """The agent with its config resolved from a draft (``?draftId``) or from a published version
        or revision (``?versionId``, §B.2), or None when Atoms cannot say."""
        params = {"draftId": draft_id} if draft_id else {"versionId": version_id}
        what = f"reading agent {agent_id} at {'draft ' + str(draft_id) if draft_id else 'version ' + str(version_id)}"
        response = self._send("GET", f"/agent/{agent_id}", what, params=params)
        if not response.is_success:
            return None
        data = self._data(response, what)
        return data if isinstance(data, dict) else None

    def discard_draft(self, agent_id: str, branch_id: str) -> None:
        self._call("DELETE", f"/agent/{agent_id}/branches/{branch_id}/draft", "discarding the open draft", kind="write")

    def publish_draft(self, agent_id: str, branch_id: str, label: str) -> PublishResult:
        """The PublishResult: ``{state: committed, revision}`` (200) or ``{state: scanning}`` (202)."""
        data = self._call(
            "POST",
            f"/agent/{agent_id}/branches/{branch_id}/draft/publish",
            "publishing the draft",
            body={"label": label},
            kind="write",
        )
        # An answer without an object (no body on the 202) reads as "scanning": the revisions tell the rest.
        what, endpoint = "publishing the draft", "POST /agent/{id}/branches/{branchId}/draft/publish"
        return parse(PublishResult, data if isinstance(data, dict) else {}, what, endpoint)

    def list_revisions(self, agent_id: str, branch_id: str, limit: int = 1) -> list[Revision]:
        """Newest first (§C.2: ``{revisions, total}``)."""
        data = self._call(
            "GET", f"/agent/{agent_id}/branches/{branch_id}/revisions", "listing revisions", params={"limit": limit}
        )
        revisions = data.get("revisions") if isinstance(data, dict) else data
        endpoint = "GET /agent/{id}/branches/{branchId}/revisions"
        return parse_list(
            Revision, revisions, "listing revisions", endpoint, "revisions" if isinstance(data, dict) else ""
        )

    def get_revision(self, agent_id: str, branch_id: str, revision_id: str) -> dict[str, Any]:
        """``{revision, resolvedConfig}``."""
        data = self._call(
            "GET", f"/agent/{agent_id}/branches/{branch_id}/revisions/{revision_id}", f"reading revision {revision_id}"
        )
        return as_object(
            data, f"reading revision {revision_id}", "GET /agent/{id}/branches/{branchId}/revisions/{revisionId}"
        )

    def make_live(self, agent_id: str, branch_id: str) -> None:
        # §K.1: the SDK's make_live sends no body at all.
        self._call("POST", f"/agent/{agent_id}/branches/{branch_id}/live", "making the branch live", kind="upsert")

    def restore_revision(self, agent_id: str, branch_id: str, revision_id: str) -> PublishResult:
        what = f"restoring revision {revision_id}"
        data = self._call(
            "POST", f"/agent/{agent_id}/branches/{branch_id}/revisions/{revision_id}/restore", what, kind="write"
        )
        endpoint = "POST /agent/{id}/branches/{branchId}/revisions/{revisionId}/restore"
        return parse(PublishResult, data if isinstance(data, dict) else {}, what, endpoint)

    # -- v1 drafts and versions (§B.7–B.11) ------------------------------------------------

    def list_drafts(self, agent_id: str) -> list[Revision]:
        """Open v1 drafts (``AgentVersion[]``, §B.7)."""
        data = self._call("GET", f"/agent/{agent_id}/drafts", "listing drafts")
        drafts = data if isinstance(data, list) else (data.get("drafts") or [] if isinstance(data, dict) else data)
        return parse_list(
            Revision, drafts, "listing drafts", "GET /agent/{id}/drafts", "" if isinstance(data, list) else "drafts"
        )

    def create_draft(self, agent_id: str, source_version_id: str) -> str:
        data = self._call(
            "POST",
            f"/agent/{agent_id}/drafts",
            "opening a draft",
            body={"sourceVersionId": source_version_id, "draftName": V1_DRAFT_NAME},
            kind="write",
        )
        endpoint = "POST /agent/{id}/drafts"
        draft_id = parse(Revision, data, "opening a draft", endpoint).draft_ref if isinstance(data, dict) else None
        if not draft_id:  # §B.7: draftId, else _id
            raise ApiError("Atoms opened a draft but did not say its id")
        return draft_id

    def discard_v1_draft(self, agent_id: str, draft_id: str) -> None:
        self._call("DELETE", f"/agent/{agent_id}/drafts/{draft_id}", "discarding a draft", kind="write")

    def patch_draft_config(self, agent_id: str, draft_id: str, body: dict[str, Any]) -> None:
        self._call(
            "PATCH", f"/agent/{agent_id}/drafts/{draft_id}/config", "writing the draft config", body=body, kind="upsert"
        )

    def publish_v1(self, agent_id: str, draft_id: str, label: str, description: str) -> str:
        data = self._call(
            "POST",
            f"/agent/{agent_id}/drafts/{draft_id}/publish",
            "publishing the draft",
            body={"label": label, "description": description},
            kind="write",
        )
        endpoint = "POST /agent/{id}/drafts/{draftId}/publish"
        version_id = parse(Revision, data, "publishing the draft", endpoint).id if isinstance(data, dict) else None
        if not version_id:
            raise ApiError("Atoms published the draft but did not say the version id")
        return version_id

    def list_versions(self, agent_id: str, limit: int = 1) -> list[Revision]:
        """Published versions, newest first (§B.9: ``{versions, total}``); none when Atoms lists none."""
        data = self._call("GET", f"/agent/{agent_id}/versions", "listing versions", params={"limit": limit})
        versions = data.get("versions") if isinstance(data, dict) else data
        if not isinstance(versions, list):
            return []
        key = "versions" if isinstance(data, dict) else ""
        return parse_list(Revision, versions, "listing versions", "GET /agent/{id}/versions", key)

    def get_version(self, agent_id: str, version_id: str) -> dict[str, Any]:
        """``{version, resolvedConfig}``."""
        data = self._call("GET", f"/agent/{agent_id}/versions/{version_id}", f"reading version {version_id}")
        return as_object(data, f"reading version {version_id}", "GET /agent/{id}/versions/{versionId}")

    def activate_version(self, agent_id: str, version_id: str) -> None:
        # §B.9: activate is idempotent, so it may be repeated like an upsert.
        self._call(
            "PATCH", f"/agent/{agent_id}/versions/{version_id}/activate", "activating the version", kind="upsert"
        )

    # -- voices (§E.2, §E.3) ------------------------------------------------------------------

    def get_voices(self) -> Any:
        """The Lightning v3.1 catalog: ``{"voices": [...]}`` with no envelope (§E.2)."""
        return self._call("GET", "/lightning-v3.1/get_voices", "reading the voice catalog", prefix=WAVES_PREFIX)

    def list_voice_clones(self) -> list[VoiceClone]:
        data = self._call("GET", "/voice-cloning", "listing voice clones", prefix=WAVES_PREFIX)
        as_objects(data, "listing voice clones", "GET /waves/v1/voice-cloning")
        return parse_list(VoiceClone, data, "listing voice clones", "GET /waves/v1/voice-cloning")

    def create_voice_clone(
        self,
        display_name: str,
        audio: bytes,
        filename: str,
        mime_type: str,
        language: str | None = None,
        description: str | None = None,
    ) -> VoiceClone:
        """Instant clone, multipart (§E.3). Not repeated on an ambiguous failure: a clone costs quota."""
        form = {
            k: v
            for k, v in {
                "displayName": display_name[:500],
                "language": language,
                "description": description,
                "model": "lightning-v3.1",
            }.items()
            if v
        }
        data = self._call(
            "POST",
            "/voice-cloning",
            f"cloning voice {display_name!r}",
            prefix=WAVES_PREFIX,
            kind="write",
            files={"file": (filename, audio, mime_type)},
            form=form,
        )
        made = parse(VoiceClone, data, f"cloning voice {display_name!r}", "POST /waves/v1/voice-cloning")
        if not made.voice_id:
            raise ApiError("Atoms created a voice clone but did not say its voiceId")
        return made

    # -- webhooks (§K.3) -------------------------------------------------------------------------

    def list_webhooks(self) -> list[Webhook]:
        """Every webhook of the organization. Each carries its signing secret (``decryptedSecretKey``,
        SDK ``Webhook``): callers must never print, log or store it (the model's repr leaves it out)."""
        data = self._call("GET", "/webhook", "listing webhooks")
        found = (
            [w for w in data if isinstance(w, dict)]
            if isinstance(data, list)
            else ([data] if isinstance(data, dict) else [])
        )
        return parse_list(Webhook, found, "listing webhooks", "GET /webhook")

    def get_webhook(self, webhook_id: str) -> Webhook | None:
        what = f"reading webhook {webhook_id}"
        data = self._call("GET", "/webhook", what, params={"webhookId": webhook_id})
        if isinstance(data, list):
            data = next((w for w in data if isinstance(w, dict) and w.get("_id") == webhook_id), None)
        return parse(Webhook, data, what, "GET /webhook?webhookId=") if isinstance(data, dict) else None

    def create_webhook(self, endpoint: str, description: str, events: list[dict[str, str]]) -> Webhook:
        """``POST /webhook``; a second webhook with the same URL is refused with a 400 (§K.3). The
        answer is the id (SDK) or the webhook itself: both are returned as a dict with ``_id``."""
        data = self._call(
            "POST",
            "/webhook",
            "creating the webhook",
            kind="write",
            body={"endpoint": endpoint, "description": description, "events": events},
        )
        made = data if isinstance(data, dict) else {"_id": data}
        if not isinstance(made.get("_id"), str) or not made["_id"]:
            raise ApiError(
                "Atoms created a webhook but did not say its id", "Look for it in the Atoms dashboard (Webhooks)."
            )
        return parse(Webhook, made, "creating the webhook", "POST /webhook")

    def list_webhook_subscriptions(self, agent_id: str) -> list[WebhookSubscription]:
        what = "listing the agent's webhook subscriptions"
        data = self._call("GET", f"/agent/{agent_id}/webhook-subscriptions", what)
        found = [s for s in data if isinstance(s, dict)] if isinstance(data, list) else []
        return parse_list(WebhookSubscription, found, what, "GET /agent/{id}/webhook-subscriptions")

    def subscribe_webhook(self, agent_id: str, webhook_id: str, event_types: list[str]) -> None:
        """SDK: this *replaces* the agent's subscriptions with these event types of this webhook."""
        self._call(
            "POST",
            f"/agent/{agent_id}/webhook-subscriptions",
            "subscribing the agent to the webhook",
            kind="write",
            body={"webhookId": webhook_id, "eventTypes": event_types},
        )

    def delete_webhook_subscriptions(self, agent_id: str) -> None:
        """SDK: deletes *all* the agent's subscriptions, whichever webhook they belong to."""
        self._call(
            "DELETE",
            f"/agent/{agent_id}/webhook-subscriptions",
            "removing the agent's webhook subscriptions",
            kind="write",
        )

    # -- knowledge bases (§F.6) -----------------------------------------------------------------

    def list_knowledge_bases(self) -> list[KnowledgeBase]:
        data = self._call("GET", "/knowledgebase", "listing knowledge bases")
        as_objects(data, "listing knowledge bases", "GET /knowledgebase")
        return parse_list(KnowledgeBase, data, "listing knowledge bases", "GET /knowledgebase")

    def create_knowledge_base(self, name: str, description: str) -> str:
        data = self._call(
            "POST",
            "/knowledgebase",
            f"creating knowledge base {name!r}",
            body={"name": name, "description": description},
            kind="write",
        )
        kb_id = data.get("_id") if isinstance(data, dict) else data  # §F.6: bare id; the helper also accepts {_id}
        if not isinstance(kb_id, str) or not kb_id:
            raise ApiError("Atoms created a knowledge base but did not say its id")
        return kb_id

    def get_knowledge_base(self, kb_id: str) -> KnowledgeBase | None:
        what = f"reading knowledge base {kb_id}"
        response = self._send("GET", f"/knowledgebase/{kb_id}", what)
        if response.status_code in (400, 404):
            return None
        return parse(KnowledgeBase, self._data(response, what), what, "GET /knowledgebase/{id}")

    def list_kb_items(self, kb_id: str) -> list[KnowledgeBaseItem]:
        data = self._call("GET", f"/knowledgebase/{kb_id}/items", "listing knowledge-base items")
        as_objects(data, "listing knowledge-base items", "GET /knowledgebase/{id}/items")
        return parse_list(KnowledgeBaseItem, data, "listing knowledge-base items", "GET /knowledgebase/{id}/items")

    def upload_kb_pdf(self, kb_id: str, filename: str, pdf: bytes) -> None:
        """§F.6: multipart field ``media``, PDF only. Not repeated on an ambiguous failure."""
        self._call(
            "POST",
            f"/knowledgebase/{kb_id}/items/upload-media",
            f"uploading {filename!r}",
            kind="write",
            files={"media": (filename, pdf, "application/pdf")},
        )

    def scrape_urls(self, kb_id: str, urls: list[str]) -> None:
        self._call(
            "POST",
            f"/knowledgebase/{kb_id}/scrape-urls",
            "adding URLs to the knowledge base",
            body={"urls": urls},
            kind="write",
        )

    def list_scraped_urls(self, kb_id: str) -> list[ScrapedUrl]:
        data = self._call("GET", f"/knowledgebase/{kb_id}/scraped-urls", "listing scraped URLs")
        as_objects(data, "listing scraped URLs", "GET /knowledgebase/{id}/scraped-urls")
        return parse_list(ScrapedUrl, data, "listing scraped URLs", "GET /knowledgebase/{id}/scraped-urls")
