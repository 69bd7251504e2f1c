"""Post-call webhooks on Atoms: one webhook per URL, one subscription per agent (smallest-atoms-api.md §K.3).

The plan's ``webhook`` step (transforms ``post_call_webhook``) runs once its agent exists:

- the webhook is found by URL among the organization's webhooks and reused; only when none
  has the URL is one created (a second create is refused with a 400, which a concurrent
  creator may cause: the list is read again and the other's webhook used). An ambiguous
  create (timeout, 5xx) is followed by a fresh listing before anything else, never by a
  blind second create;
- the agent is subscribed to its event types. The vendor SDK says ``POST
  .../webhook-subscriptions`` *replaces* every subscription of the agent and ``DELETE``
  removes all of them, so an agent already subscribed to another webhook is left alone and
  reported (subscribing would silently drop that subscription);
- the signing secret of a webhook made here goes to ``reveal`` once (the CLI prints it on
  stderr) and nowhere else: not to events, reports, JSON or the state file.

``unsubscribe`` is rollback's half: it removes our subscription, keeping the agent's others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atoms_migrate.apply.state import canonical_hash
from atoms_migrate.errors import ApiError, MigrationError
from atoms_migrate.platforms.smallest import AmbiguousWriteError, AtomsClient
from atoms_migrate.platforms.smallest_models import Webhook, WebhookSubscription

ALREADY_REGISTERED = "already been registered"


@dataclass
class Subscribed:
    webhook_id: str
    created: bool  # this run made the webhook
    event_types: list[str]
    changed: bool  # this run wrote a subscription


def url_hash(url: str) -> str:
    return canonical_hash(url.strip())


def _same_url(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.strip().rstrip("/") == b.strip().rstrip("/")


def _event_type(sub: WebhookSubscription) -> str:
    return sub.event_type or ""


def _webhook_of(sub: WebhookSubscription) -> str:
    return sub.webhook_id


def find_webhook(atoms: AtomsClient, url: str) -> Webhook | None:
    return next((h for h in atoms.list_webhooks() if _same_url(h.url, url)), None)


def subscribe(
    atoms: AtomsClient,
    agent_id: str,
    body: dict[str, Any],
    progress: Callable[[str], None],
    reveal: Callable[[str], None],
    lock: threading.Lock | None = None,
) -> Subscribed:
    url, wanted = str(body["url"]), [str(t) for t in body.get("event_types") or ["post-conversation"]]
    with lock or threading.Lock():  # agents of one batch may share a URL: one webhook for them all
        hook = find_webhook(atoms, url)
        created = False
        if hook is None:
            hook, created = _create(atoms, agent_id, url, wanted, str(body.get("description") or ""), progress, reveal)
        else:
            progress(f"reusing Atoms webhook {hook.id} for {url}")
    hook_id = str(hook.id)
    subs = atoms.list_webhook_subscriptions(agent_id)
    ours = [_event_type(s) for s in subs if _webhook_of(s) == hook_id]
    if set(wanted) <= set(ours):
        return Subscribed(hook_id, created, ours, changed=created)
    others = sorted({_webhook_of(s) for s in subs if _webhook_of(s) != hook_id})
    if others:
        raise MigrationError(
            f"Atoms agent {agent_id} is already subscribed to another webhook ({', '.join(others)}); "
            "Atoms replaces all of an agent's subscriptions when one is added, so atoms-migrate did not subscribe it",
            f"Subscribe the agent to the webhook for {url} ({', '.join(wanted)}) in the Atoms dashboard.",
        )
    types = list(dict.fromkeys([*ours, *wanted]))
    try:
        atoms.subscribe_webhook(agent_id, hook_id, types)
    except AmbiguousWriteError:
        if not set(wanted) <= {
            _event_type(s) for s in atoms.list_webhook_subscriptions(agent_id) if _webhook_of(s) == hook_id
        }:
            raise
    progress(f"subscribed the agent to webhook {hook_id} ({', '.join(types)})")
    return Subscribed(hook_id, created, types, changed=True)


def _create(
    atoms: AtomsClient,
    agent_id: str,
    url: str,
    types: list[str],
    description: str,
    progress: Callable[[str], None],
    reveal: Callable[[str], None],
) -> tuple[Webhook, bool]:
    events = [{"agentId": agent_id, "eventType": t} for t in types]
    try:
        made = atoms.create_webhook(url, description, events)
    except AmbiguousWriteError:
        found = find_webhook(atoms, url)  # §H.15-style: look before writing again
        if found is None:
            raise
        made = found
    except ApiError as exc:
        if exc.status != 400 or ALREADY_REGISTERED not in exc.message:
            raise
        found = find_webhook(atoms, url)  # made meanwhile by someone else: use it
        if found is None:
            raise
        progress(f"reusing Atoms webhook {found.id} for {url} (made meanwhile)")
        return found, False
    hook_id = str(made.id)
    progress(f"created Atoms webhook {hook_id} for {url}")
    secret = made.signing_key
    if secret is None:
        detail = atoms.get_webhook(hook_id)
        secret = detail.signing_key if detail is not None else None
    if secret:
        reveal(
            f"Signing secret of the new Atoms webhook {hook_id} ({url}): {secret}\n"
            "  Shown once, never stored: give it to the receiving endpoint to verify X-Signature "
            "(HMAC-SHA256 of the body)."
        )
    # What goes back up holds no secret: only the webhook's id, URL and description.
    return Webhook.model_validate({"_id": hook_id, "url": made.url, "description": made.description}), True


def unsubscribe(atoms: AtomsClient, agent_id: str, webhook_id: str) -> str:
    """Remove the agent's subscription to ``webhook_id``; its subscriptions to one other webhook
    are put back (DELETE removes them all). Returns what was done, for the message."""
    subs = atoms.list_webhook_subscriptions(agent_id)
    if not any(_webhook_of(s) == webhook_id for s in subs):
        return f"the agent was no longer subscribed to webhook {webhook_id}"
    others: dict[str, list[str]] = {}
    for sub in subs:
        if _webhook_of(sub) != webhook_id:
            others.setdefault(_webhook_of(sub), []).append(_event_type(sub))
    if len(others) > 1:
        raise MigrationError(
            f"Atoms agent {agent_id} is subscribed to {len(others) + 1} webhooks; removing one would drop the others",
            f"Remove its subscription to webhook {webhook_id} in the Atoms dashboard.",
        )
    atoms.delete_webhook_subscriptions(agent_id)
    for other, types in others.items():
        atoms.subscribe_webhook(agent_id, other, types)
    return f"removed the agent's subscription to webhook {webhook_id}"
