"""The pydantic models of Atoms' fixed-shape responses: wire names checked against the vendor SDK,
unknown keys kept, nulls read as absent, and a response that does not fit is the shape error."""

from __future__ import annotations

import httpx
import pytest
import respx
import smallestai.atoms.types as sdk
from pydantic import BaseModel
from smallestai.waves.types.create_voice_clone_waves_response_data import CreateVoiceCloneWavesResponseData
from smallestai.waves.types.list_voice_clones_waves_response_data_item import ListVoiceClonesWavesResponseDataItem

from atoms_migrate.apply.applier import list_branches, live_branch
from atoms_migrate.errors import ApiError
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.platforms.smallest_models import (
    Branch,
    BranchSummary,
    DraftDetail,
    KnowledgeBase,
    KnowledgeBaseItem,
    PublishResult,
    Revision,
    SecurityCheck,
    VoiceClone,
    Webhook,
    WebhookSubscription,
    Wire,
    parse,
)

HOST = "https://api.smallest.ai"


def _wire_names(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


# Our model -> the SDK 5.14.0 model(s) of the same response, and the wire names we read that the SDK does not type.
SDK_MODELS: list[tuple[type[Wire], tuple[type[BaseModel], ...], set[str]]] = [
    (Branch, (sdk.Branch,), set()),
    (BranchSummary, (sdk.BranchSummary,), set()),
    (Revision, (sdk.Revision,), set()),
    (SecurityCheck, (sdk.RevisionSecurityCheck,), set()),
    (PublishResult, (sdk.PublishResult,), set()),
    (DraftDetail, (sdk.DraftDetail,), set()),
    (KnowledgeBase, (sdk.KnowledgeBase,), set()),
    (KnowledgeBaseItem, (sdk.KnowledgeBaseItem,), set()),
    (VoiceClone, (ListVoiceClonesWavesResponseDataItem, CreateVoiceCloneWavesResponseData), set()),
    # The secret's other names are what older accounts were seen to send (postcall, before this model).
    (Webhook, (sdk.Webhook,), {"secret", "signingSecret", "secretKey"}),
    (WebhookSubscription, (sdk.WebhookSubscription,), set()),
]


@pytest.mark.parametrize("ours, theirs, beyond", SDK_MODELS, ids=[m[0].__name__ for m in SDK_MODELS])
def test_every_wire_name_we_read_is_the_sdks(ours, theirs, beyond) -> None:
    sdk_names = set().union(*(_wire_names(m) for m in theirs))
    assert _wire_names(ours) - sdk_names == beyond


def test_unknown_keys_are_kept_and_nulls_read_as_absent() -> None:
    summary = BranchSummary.model_validate(
        {
            "branch": {"_id": "b1", "name": "main", "headRevisionId": None, "isDefault": True, "newField": 1},
            "isLive": True,
            "hasOpenDraft": None,
            "createdByName": "Ada",
        }
    )
    assert (summary.id, summary.name, summary.head, summary.is_live, summary.has_open_draft) == (
        "b1",
        "main",
        None,
        True,
        False,
    )
    assert summary.model_extra == {"createdByName": "Ada"}
    assert summary.branch.model_extra == {"newField": 1}
    assert BranchSummary.model_validate({"branch": None}).id == "None"  # as str(None) read before


def test_publish_result_says_the_committed_revision_only_when_committed() -> None:
    assert PublishResult.model_validate({"state": "committed", "revision": {"_id": "r2"}}).committed_id == "r2"
    assert PublishResult.model_validate({"state": "scanning"}).committed_id is None
    assert PublishResult.model_validate({"state": "committed", "revision": {}}).committed_id is None


def test_a_v1_draft_is_addressed_by_draft_id_then_id() -> None:
    assert Revision.model_validate({"_id": "v", "draftId": "d"}).draft_ref == "d"
    assert Revision.model_validate({"_id": "v"}).draft_ref == "v"


def test_a_webhook_subscription_names_its_webhook_by_id_or_populated_object() -> None:
    assert WebhookSubscription.model_validate({"webhookId": "w1"}).webhook_id == "w1"
    assert WebhookSubscription.model_validate({"webhookId": {"_id": "w2", "url": "u"}}).webhook_id == "w2"


def test_a_webhooks_signing_secret_is_read_under_any_name_and_never_in_its_repr() -> None:
    for key in ("decryptedSecretKey", "secret", "signingSecret", "secretKey"):
        hook = Webhook.model_validate({"_id": "w1", "url": "https://x", key: "whsec_TOPSECRET", "other": "whsec_X"})
        assert hook.signing_key == "whsec_TOPSECRET"
        assert "TOPSECRET" not in repr(hook) and "whsec_X" not in repr(hook) and "w1" in repr(hook)
        assert "TOPSECRET" not in str(hook)
    # An older name carrying something else is skipped, as before the model: the next name counts.
    hook = Webhook.model_validate({"_id": "w1", "secret": {"kind": "hmac"}, "signingSecret": "whsec_2"})
    assert hook.signing_key == "whsec_2"


@pytest.mark.parametrize(
    "model, data, message",
    [
        (BranchSummary, {"branch": "main"}, r"with a string at branch where an object is due"),
        (BranchSummary, {"branch": {"_id": {"$oid": "x"}}}, r"with an object at branch\._id where a string is due"),
        (PublishResult, {"state": "committed", "revision": []}, r"with an array at revision where an object is due"),
        (Revision, {"draftRevision": "three"}, r"with a string at draftRevision where an integer is due"),
        (Revision, "r1", r"with a string where an object is due"),
    ],
)
def test_a_response_that_does_not_fit_is_the_shape_error(model, data, message) -> None:
    with pytest.raises(ApiError, match=r"^Atoms answered doing it \(GET /x\) " + message) as info:
        parse(model, data, "doing it", "GET /x")
    assert info.value.status == 200 and "SMALLEST_BASE_URL" in (info.value.hint or "")


@pytest.fixture
def atoms():
    with respx.mock(base_url=HOST + "/atoms/v1", assert_all_called=True) as mock:
        policy = RetryPolicy(attempts=1, initial_wait=0, max_wait=0, sleep=lambda _: None)
        yield AtomsClient(httpx.Client(base_url=HOST), policy), mock


def test_a_branch_listing_of_the_wrong_shape_fails_as_the_shape_error_naming_the_field(atoms) -> None:
    client, mock = atoms
    summaries = [{"branch": {"_id": "b1", "name": "main"}, "isLive": True}, {"branch": {"_id": 7}}]
    mock.get("/agent/a1/branches").respond(200, json={"status": True, "data": {"branches": summaries}})
    with pytest.raises(ApiError, match=r"with a number at branches\[1\]\.branch\._id where a string is due"):
        list_branches(client, "a1")


def test_the_live_branch_is_the_live_one_else_the_default_else_the_first(atoms) -> None:
    client, mock = atoms
    raw = [
        {"branch": {"_id": "b1", "name": "x"}},
        {"branch": {"_id": "b2", "name": "main", "isDefault": True}},
        {"branch": {"_id": "b3", "name": "y"}, "isLive": True},
    ]
    mock.get("/agent/a1/branches").respond(200, json={"status": True, "data": {"branches": raw}})
    assert live_branch(list_branches(client, "a1")).id == "b3"
    assert live_branch(list_branches(client, "a1")).head is None
    assert live_branch(list_branches(client, "a1")).branch.name == "y"
    assert live_branch(list_branches(client, "a1")[:2]).id == "b2"
    assert live_branch(list_branches(client, "a1")[:1]).id == "b1"
    with pytest.raises(ApiError, match="lists no branches"):
        live_branch([])


def test_client_answers_are_models_with_unknown_keys_kept(atoms) -> None:
    client, mock = atoms
    mock.post("/agent/a1/branches/b1/draft/publish").respond(
        202, json={"status": True, "data": {"state": "scanning", "queuedAt": "now"}}
    )
    mock.get("/agent/a1/branches/b1/revisions").respond(
        200,
        json={
            "status": True,
            "data": {"revisions": [{"_id": "r1", "status": "published", "securityCheck": None}], "total": 1},
        },
    )
    mock.get("/knowledgebase/k1/items").respond(
        200, json={"status": True, "data": [{"_id": "i1", "fileName": "a.pdf", "processingStatus": "completed"}]}
    )
    published = client.publish_draft("a1", "b1", "label")
    assert published.state == "scanning" and published.model_extra == {"queuedAt": "now"}
    [revision] = client.list_revisions("a1", "b1")
    assert (revision.id, revision.state, revision.security_check.state) == ("r1", "published", "")
    [item] = client.list_kb_items("k1")
    assert (item.file_name, item.processing_status) == ("a.pdf", "completed")


def test_a_kb_item_of_the_wrong_shape_is_the_shape_error(atoms) -> None:
    client, mock = atoms
    mock.get("/knowledgebase/k1/items").respond(200, json={"status": True, "data": [{"fileName": ["a.pdf"]}]})
    with pytest.raises(ApiError, match=r"GET /knowledgebase/\{id\}/items\) with an array at \[0\]\.fileName"):
        client.list_kb_items("k1")
