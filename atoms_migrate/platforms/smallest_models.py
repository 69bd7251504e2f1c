"""Pydantic models of the Atoms responses of fixed shape, and the one way a response that does not fit fails.

Branch summaries and branches (smallest-atoms-api.md §C.2), revisions and v1 versions and drafts (the
``AgentVersion`` document, §B.7, §B.9, §C.2), publish results, draft details, the agent list page (§B.3),
knowledge bases, their items and scraped URLs (§F.6), voice clones (§E.3), webhooks and webhook
subscriptions (§K.3). Field names follow the vendor SDK 5.14.0 (``smallestai.atoms.types``); the wire's
camelCase and ``_id`` are explicit aliases.

Agent configs (``GET /agent/{id}``, a revision's ``resolvedConfig``) are *not* modelled: they stay dict
trees, because the plan's leaf accounting reads every key of them.

Vendors add fields, so every model keeps unknown keys (``extra="allow"``) and every field is optional
with the default the callers assumed before (a ``null`` reads as absent). What a model does refuse is a
value of the wrong kind (a branch that is a string, an id that is an object): ``parse`` and
``parse_list`` turn that into the project's shape error (an ``ApiError`` naming the request, the
endpoint and the first bad field), never a raw ``ValidationError``.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from atoms_migrate.errors import ApiError
from atoms_migrate.validation import EXPECTED, json_path

SHAPE_HINT = "Check SMALLEST_BASE_URL points at the Atoms API; quote the endpoint to Smallest support."


def kind_of(value: Any) -> str:
    """How a JSON value reads in a message: "an object", "an array", "a string", ..."""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def shape_error(what: str, endpoint: str, expected: str, data: Any, where: str = "") -> ApiError:
    """A 200 answer of the wrong shape: names the request, the endpoint and (``where``) the bad field."""
    at = f" at {where}" if where else ""
    return ApiError(
        f"Atoms answered {what} ({endpoint}) with {kind_of(data)}{at} where {expected} is due",
        SHAPE_HINT,
        status=200,
    )


class Wire(BaseModel):
    """A vendor response: unknown keys kept, ``null`` read as absent, immutable once read."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        # Atoms sends `null` for unset optional fields (headRevisionId before the first commit, §C.2):
        # the field then takes its default, as the `.get(key) or default` reads before this model did.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


# -- branches and revisions (§C.2) -------------------------------------------------------------------


class Branch(Wire):
    """SDK ``Branch``: ``_id``, ``isDefault`` and ``headRevisionId`` live here, not on the summary."""

    id: str | None = Field(default=None, alias="_id")
    name: str | None = None
    is_default: bool = Field(default=False, alias="isDefault")
    head_revision_id: str | None = Field(default=None, alias="headRevisionId")
    open_draft_id: str | None = Field(default=None, alias="openDraftId")
    status: str | None = None


class BranchSummary(Wire):
    """SDK ``BranchSummary``: ``{branch, isLive, hasOpenDraft, ...}`` (§C.2: the flags are on the wrapper)."""

    branch: Branch = Field(default_factory=Branch)
    is_live: bool = Field(default=False, alias="isLive")
    has_open_draft: bool = Field(default=False, alias="hasOpenDraft")

    @property
    def id(self) -> str:
        """The branch id as the callers have always written it (``"None"`` when Atoms gave none)."""
        return str(self.branch.id)

    @property
    def head(self) -> str | None:
        return self.branch.head_revision_id

    @property
    def name(self) -> str | None:
        return self.branch.name


class SecurityCheck(Wire):
    """SDK ``RevisionSecurityCheck``: ``status`` (pending, passed, failed, ...) and its ``reason``."""

    status: str | None = None
    reason: str | None = None

    @property
    def state(self) -> str:
        return (self.status or "").lower()


class Revision(Wire):
    """SDK ``Revision`` / ``AgentVersion``: a v2 revision, a v1 version or a v1 draft (one document, §B.7)."""

    id: str | None = Field(default=None, alias="_id")
    status: str | None = None
    draft_id: str | None = Field(default=None, alias="draftId")
    draft_name: str | None = Field(default=None, alias="draftName")
    draft_revision: int | None = Field(default=None, alias="draftRevision")
    security_check: SecurityCheck = Field(default_factory=SecurityCheck, alias="securityCheck")

    @property
    def state(self) -> str:
        return (self.status or "").lower()

    @property
    def draft_ref(self) -> str | None:
        """The id a v1 draft is addressed by: ``draftId``, else ``_id`` (§B.7)."""
        return self.draft_id or self.id


class RevisionDetail(Wire):
    """``GET .../revisions/{revisionId}``: ``{revision, resolvedConfig}`` (the config stays a dict tree)."""

    revision: Revision | None = None
    resolved_config: dict[str, Any] | None = Field(default=None, alias="resolvedConfig")


class VersionDetail(Wire):
    """``GET /agent/{id}/versions/{versionId}`` (v1): ``{version, resolvedConfig}`` (§B.9)."""

    version: Revision = Field(default_factory=Revision)
    resolved_config: dict[str, Any] | None = Field(default=None, alias="resolvedConfig")


class PublishResult(Wire):
    """SDK ``PublishResult``: ``{state: committed, revision}`` (200) or ``{state: scanning}`` (202)."""

    state: str | None = None
    revision: Revision | None = None

    @property
    def committed_id(self) -> str | None:
        """The new revision's id when the publish committed at once, else None (wait for it)."""
        if self.state == "committed" and self.revision is not None and self.revision.id:
            return self.revision.id
        return None


class DraftDetail(Wire):
    """SDK ``DraftDetail``: ``{latest: Revision, editCount, editHistory}``."""

    latest: Revision = Field(default_factory=Revision)
    edit_count: int | None = Field(default=None, alias="editCount")


# -- agents (§B.3) -----------------------------------------------------------------------------------


class AgentPage(Wire):
    """One page of ``GET /agent`` when it comes wrapped: ``{agents, hasMore?, total? | totalCount?}``.

    The agents themselves are agent documents and stay dicts (only their being objects is checked).
    """

    agents: list[dict[str, Any]] = []
    has_more: bool | None = Field(default=None, alias="hasMore")
    total: int | None = None
    total_count: int | None = Field(default=None, alias="totalCount")


# -- voices (§E.3), knowledge bases (§F.6), webhooks (§K.3) --------------------------------------------


class VoiceClone(Wire):
    """A Waves voice clone; ``voiceId`` is what an agent's ``synthesizer.voiceConfig`` names."""

    voice_id: str | None = Field(default=None, alias="voiceId")
    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None


class KnowledgeBase(Wire):
    """SDK ``KnowledgeBase``."""

    id: str | None = Field(default=None, alias="_id")
    name: str | None = None
    description: str | None = None
    processing_status: str | None = Field(default=None, alias="processingStatus")


class KnowledgeBaseItem(Wire):
    """SDK ``KnowledgeBaseItem``: a document in a knowledge base (an uploaded PDF here)."""

    id: str | None = Field(default=None, alias="_id")
    file_name: str | None = Field(default=None, alias="fileName")
    processing_status: str | None = Field(default=None, alias="processingStatus")


class ScrapedUrl(Wire):
    """``GET /knowledgebase/{id}/scraped-urls`` items: ``{_id, url, status}``."""

    id: str | None = Field(default=None, alias="_id")
    url: str | None = None
    status: str | None = None


class Webhook(Wire):
    """SDK ``Webhook``. Its signing secret is here under one of several names; none is ever shown (repr)."""

    id: str | None = Field(default=None, alias="_id")
    url: str | None = None
    description: str | None = None
    decrypted_secret_key: str | None = Field(default=None, alias="decryptedSecretKey", repr=False)
    # Names seen before the SDK typed one; untyped here as before (a non-string one is skipped, not an error).
    secret: Any = Field(default=None, repr=False)
    signing_secret: Any = Field(default=None, alias="signingSecret", repr=False)
    secret_key: Any = Field(default=None, alias="secretKey", repr=False)

    @property
    def signing_key(self) -> str | None:
        """The signing secret, whichever name this account's API gives it (SDK: ``decryptedSecretKey``)."""
        found = (self.decrypted_secret_key, self.secret, self.signing_secret, self.secret_key)
        return next((v for v in found if isinstance(v, str) and v), None)

    def __repr_args__(self) -> Any:
        # Unknown keys are kept (extra="allow") and repr shows them: keep it to the fields that are no secret.
        return [(k, v) for k, v in super().__repr_args__() if k in ("id", "url", "description")]


class WebhookRef(Wire):
    id: str | None = Field(default=None, alias="_id")


class WebhookSubscription(Wire):
    """SDK ``WebhookSubscription``; ``webhookId`` comes as the id or, populated, as the webhook object."""

    event_type: str | None = Field(default=None, alias="eventType")
    webhook: str | WebhookRef | None = Field(default=None, alias="webhookId")

    @property
    def webhook_id(self) -> str:
        hook = self.webhook
        return str(hook.id if isinstance(hook, WebhookRef) else hook)


# -- parsing at the edge -------------------------------------------------------------------------------

M = TypeVar("M", bound=Wire)

# A union's branch names in a pydantic location, not keys of the answer (WebhookSubscription.webhookId).
_UNION_BRANCHES = ("str", "WebhookRef")


def _error(exc: ValidationError, what: str, endpoint: str, prefix: str) -> ApiError:
    err = exc.errors()[0]
    where = json_path(err["loc"], skip=_UNION_BRANCHES)
    expected = EXPECTED.get(err["type"], str(err["msg"]).lower())
    return shape_error(what, endpoint, expected, err.get("input"), (prefix + where) if prefix or where else "")


def parse(model: type[M], data: Any, what: str, endpoint: str) -> M:
    """``data`` (a 200 answer's ``data``) as ``model``, else the shape error naming ``endpoint``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _error(exc, what, endpoint, "") from None


@cache
def _list_of(model: type[Wire]) -> TypeAdapter[list[Any]]:
    # Built once per model: a TypeAdapter costs ~0.5 ms to build and ~10 µs to use (the branch list is polled).
    return TypeAdapter(list[model])  # type: ignore[valid-type]  # `model` is a class, not a type alias


def parse_list(model: type[M], data: Any, what: str, endpoint: str, key: str = "") -> list[M]:
    """An array answer (or the array under ``key``) as a list of ``model``; else the shape error."""
    try:
        items: list[M] = _list_of(model).validate_python(data)
        return items
    except ValidationError as exc:
        raise _error(exc, what, endpoint, key) from None
