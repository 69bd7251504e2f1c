"""ElevenLabs read client: agents and tools, over an injected ``httpx.Client``.

The CLI builds the client (base URL, ``xi-api-key`` header, timeout) once and passes it in;
this module never reads the environment and never prints. Every failure becomes an
``ApiError`` with a one-line message and a hint. Error bodies come in several shapes
(elevenlabs-convai-api.md §F.1): ``detail`` as an object, a list (422) or a string.
"""

from __future__ import annotations

from typing import Any

import httpx

from atoms_migrate.errors import ApiError
from atoms_migrate.platforms.retry import RetryPolicy, get_with_retries

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
RESIDENCY_HINT = (
    "Residency workspaces (api.us., api.eu.residency., api.in.residency., api.sg.residency.elevenlabs.io) "
    "need their own key and ELEVENLABS_BASE_URL."
)


def parse_error(response: httpx.Response) -> tuple[str | None, str]:
    """(code, message) from any documented ElevenLabs error body."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return None, text or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code = detail.get("code") or detail.get("status")
        return (str(code) if code else None), str(detail.get("message") or code or response.reason_phrase)
    if isinstance(detail, list):
        parts = [f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail if isinstance(d, dict)]
        return "validation_error", "; ".join(parts) or "validation error"
    if isinstance(detail, str):
        return detail, detail
    return None, response.reason_phrase


class ElevenLabsClient:
    """Reads ElevenLabs agents and tools (GET only; retried)."""

    def __init__(
        self, http: httpx.Client, retry: RetryPolicy | None = None, downloads: httpx.Client | None = None
    ) -> None:
        self.http = http
        self.retry = retry or RetryPolicy()
        # Signed/public URLs (voice previews, document files) live elsewhere and must not get the API key.
        self.downloads = downloads

    def _get(self, path: str, what: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = get_with_retries(self.http, path, self.retry, params=params)
        except httpx.TimeoutException as exc:
            raise ApiError(
                f"ElevenLabs did not answer in time reading {what} ({type(exc).__name__})",
                "Try again; check ELEVENLABS_BASE_URL and your network.",
            ) from exc
        except httpx.TooManyRedirects as exc:
            raise ApiError(
                f"ElevenLabs redirected more than {self.http.max_redirects} times reading {what} (GET {path}); "
                "a redirect loop",
                "Check ELEVENLABS_BASE_URL (use the API host itself, not a web page).",
            ) from exc
        except httpx.TransportError as exc:
            raise ApiError(
                f"Could not reach ElevenLabs at {self.http.base_url} reading {what}: {exc}",
                "Check ELEVENLABS_BASE_URL and your network.",
            ) from exc
        if response.is_success:
            try:
                data = response.json()
            except ValueError as exc:
                raise ApiError(
                    f"ElevenLabs answered {what} with a body that is not JSON",
                    "Check ELEVENLABS_BASE_URL points at the API host.",
                    status=response.status_code,
                ) from exc
            if not isinstance(data, dict):
                kind = "an array" if isinstance(data, list) else f"a {type(data).__name__}"
                raise ApiError(
                    f"ElevenLabs answered {what} (GET {path}) with {kind} where an object is due",
                    "Check ELEVENLABS_BASE_URL points at the ElevenLabs API.",
                    status=response.status_code,
                )
            return data
        raise self._error(response, what)

    def _error(self, response: httpx.Response, what: str) -> ApiError:
        status = response.status_code
        code, message = parse_error(response)
        request_id = response.headers.get("request-id") or response.headers.get("x-request-id")
        suffix = f" ({status}{' ' + code if code and code != message else ''}): {message}"
        if status == 401:
            return ApiError(
                f"ElevenLabs rejected the API key reading {what}{suffix}",
                f"Check ELEVENLABS_API_KEY. {RESIDENCY_HINT}",
                status=status,
                code=code,
                request_id=request_id,
            )
        if status == 403:
            return ApiError(
                f"ElevenLabs refused access to {what}{suffix}",
                "The key needs read access to Agents (convai); a scope-restricted key may lack it.",
                status=status,
                code=code,
                request_id=request_id,
            )
        if status == 404:
            return ApiError(
                f"ElevenLabs has no {what}{suffix}",
                f"Check the id. An agent in another region also looks missing: {RESIDENCY_HINT}",
                status=status,
                code=code,
                request_id=request_id,
            )
        if status == 429 or status >= 500 or status == 408:
            return ApiError(
                f"ElevenLabs still answered {status} reading {what} after {self.retry.attempts} attempts: {message}",
                "Try again later, or lower concurrency.",
                status=status,
                code=code,
                request_id=request_id,
            )
        return ApiError(f"ElevenLabs refused reading {what}{suffix}", status=status, code=code, request_id=request_id)

    def list_agents(self, cursor: str | None = None, page_size: int = 100, search: str | None = None) -> dict[str, Any]:
        """One page of ``GET /v1/convai/agents`` (§B): ``{agents, has_more, next_cursor}``."""
        params: dict[str, Any] = {"page_size": page_size, "archived": "false"}
        if cursor:
            params["cursor"] = cursor
        if search:
            params["search"] = search
        return self._get("/v1/convai/agents", "the agent list", params=params)

    def get_agent(self, agent_id: str) -> dict[str, Any]:
        return self._get(f"/v1/convai/agents/{agent_id}", f"agent {agent_id}")

    def get_tool(self, tool_id: str) -> dict[str, Any]:
        return self._get(f"/v1/convai/tools/{tool_id}", f"tool {tool_id}")

    def get_document(self, doc_id: str) -> dict[str, Any]:
        """EL §D.2: type, name, url / filename."""
        return self._get(f"/v1/convai/knowledge-base/{doc_id}", f"knowledge-base document {doc_id}")

    def get_document_content(self, doc_id: str) -> str:
        """EL §D.1: the full extracted content (HTML or text)."""
        return self._bytes(f"/v1/convai/knowledge-base/{doc_id}/content", f"the content of document {doc_id}").decode(
            "utf-8", "replace"
        )

    def get_document_file(self, doc_id: str) -> bytes:
        """The original uploaded file, through its signed URL (EL §D.1 ``source-file-url``)."""
        signed = self._get(f"/v1/convai/knowledge-base/{doc_id}/source-file-url", f"the file of document {doc_id}")
        return self.download(str(signed.get("signed_url") or ""), f"the file of document {doc_id}")

    def get_voice_sample(self, voice_id: str, sample_id: str) -> bytes:
        return self._bytes(f"/v1/voices/{voice_id}/samples/{sample_id}/audio", f"a sample of voice {voice_id}")

    def download(self, url: str, what: str) -> bytes:
        """A signed or public URL: absolute ones are fetched without the API key (it must not leave ElevenLabs)."""
        if not url:
            raise ApiError(f"ElevenLabs gave no download URL for {what}")
        if url.startswith("/"):
            return self._bytes(url, what)
        if self.downloads is None:
            raise ApiError(f"Cannot download {what}: no download client was given")
        try:
            response = get_with_retries(self.downloads, url, self.retry)
        except httpx.HTTPError as exc:
            raise ApiError(f"Could not download {what}: {exc}") from exc
        if not response.is_success:
            raise ApiError(f"Downloading {what} failed ({response.status_code})", status=response.status_code)
        return response.content

    def _bytes(self, path: str, what: str) -> bytes:
        try:
            response = get_with_retries(self.http, path, self.retry)
        except httpx.HTTPError as exc:
            raise ApiError(
                f"Could not read {what} from ElevenLabs: {exc}", "Check ELEVENLABS_BASE_URL and your network."
            ) from exc
        if not response.is_success:
            raise self._error(response, what)
        return response.content

    def get_signed_url(self, agent_id: str) -> str:
        """EL §G.1: a conversation URL for a private agent, valid 15 minutes to start."""
        data = self._get(
            "/v1/convai/conversation/get-signed-url",
            f"a signed URL for agent {agent_id}",
            params={"agent_id": agent_id},
        )
        url = data.get("signed_url")
        if not isinstance(url, str) or not url:
            raise ApiError(f"ElevenLabs gave no signed URL for agent {agent_id}")
        return url

    def get_convai_settings(self) -> dict[str, Any]:
        """The workspace's agent settings (``GET /v1/convai/settings``): ``webhooks`` holds the post-call
        webhook every agent without an override posts to (EL §I, SDK ``GetConvAiSettingsResponseModel``)."""
        data = self._get("/v1/convai/settings", "reading the workspace's agent settings")
        return data if isinstance(data, dict) else {}

    def list_workspace_webhooks(self) -> list[dict[str, Any]]:
        """The workspace's webhooks (``GET /v1/workspace/webhooks``): the post-call webhook an agent
        names by ``post_call_webhook_id`` has its URL here (EL §A.9, SDK ``webhooks.list``)."""
        data = self._get("/v1/workspace/webhooks", "listing workspace webhooks")
        hooks = data.get("webhooks") if isinstance(data, dict) else None
        return [h for h in hooks if isinstance(h, dict)] if isinstance(hooks, list) else []

    def get_voice(self, voice_id: str) -> dict[str, Any]:
        """EL §E.1: the voice's name, category, labels, preview_url and samples."""
        return self._get(f"/v1/voices/{voice_id}", f"voice {voice_id}")
