"""References and redaction (refs.py), text-to-PDF (documents.py)."""

from __future__ import annotations

import pytest

from atoms_migrate.apply.documents import html_to_text, render_pdf
from atoms_migrate.errors import ConfigError
from atoms_migrate.mapping.refs import Redactor, late_ref, lookup_secret, refs_in, resolve, secret_ref, secrets_from
from atoms_migrate.plan.compare import differences
from atoms_migrate.plan.live import live_config


def test_resolve_swaps_every_reference_and_refuses_a_missing_one() -> None:
    body = {
        "headers": {"Authorization": secret_ref("api")},
        "globalKnowledgeBaseId": late_ref("kb", "file:a.json"),
        "n": 1,
    }
    assert refs_in(body) == {"<secret:api>", "<ref:kb:file:a.json>"}
    assert resolve(body, {"<secret:api>": "Bearer x", "<ref:kb:file:a.json>": "kb1"}) == {
        "headers": {"Authorization": "Bearer x"},
        "globalKnowledgeBaseId": "kb1",
        "n": 1,
    }
    with pytest.raises(ConfigError, match="<secret:api>"):
        resolve(body, {})


def test_secret_values_come_from_options_and_the_environment() -> None:
    values = secrets_from(["sec_1=a=b"], {"ATOMS_MIGRATE_SECRET_OTHER_KEY": "v", "UNRELATED": "x"})
    assert values == {"sec_1": "a=b", "OTHER_KEY": "v"}
    assert lookup_secret(values, "other-key") == "v" and lookup_secret(values, "nope") is None
    with pytest.raises(ConfigError):
        secrets_from(["novalue"], {})


def test_a_reference_matches_any_non_empty_live_value() -> None:
    assert differences({"h": secret_ref("a")}, {"h": "real"}) == []
    assert differences({"h": secret_ref("a")}, {"h": ""}) == [("h", "<secret:a>", "")]


def test_live_credential_headers_are_masked() -> None:
    agent = {
        "singlePromptConfig": {
            "tools": [
                {
                    "type": "api_call",
                    "headers": {
                        "Authorization": "Bearer real",
                        "Accept": "json",
                        "X-Token": "{{token}}",
                        "X-Api-Key": "real",
                        "X-Auth": "Bearer {{token}}",
                    },
                    "queryParams": [{"key": "api_key", "value": "k"}],
                }
            ]
        }
    }
    [tool] = live_config(agent)["singlePromptConfig"]["tools"]
    # The scheme word stays so a planned "Bearer <secret:x>" matches; a value made of variables is not a credential.
    assert tool["headers"] == {
        "Authorization": "Bearer <secret>",
        "Accept": "json",
        "X-Token": "{{token}}",
        "X-Api-Key": "<secret>",
        "X-Auth": "Bearer {{token}}",
    }
    assert tool["queryParams"] == [{"key": "api_key", "value": "<secret>"}]


def test_redactor_removes_values_from_text_and_structures() -> None:
    redact = Redactor(["s3cret-value", "ab"])
    assert redact.text("x s3cret-value y ab") == "x <secret> y ab"  # values under 4 characters are not redacted
    assert redact.value({"a": ["s3cret-value"]}) == {"a": ["<secret>"]}


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    assert (
        html_to_text("<h1>Title</h1><p>One &amp; two</p><script>var x</script><p>Three</p>")
        == "Title\n\nOne & two\n\nThree"
    )
    assert html_to_text("plain text") == "plain text"


def test_render_pdf_without_a_unicode_font_counts_what_it_cannot_draw() -> None:
    data, lost = render_pdf("Notes", "Kia ora whānau — مرحبا", font=None)
    assert data.startswith(b"%PDF") and lost == 5  # the macron folds to "a"; five Arabic letters are lost
