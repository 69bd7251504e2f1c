"""Late-bound values in a plan: secret references and ids only known at apply time.

A plan is data that users read, diff and save, so it must never hold a secret value, and
it cannot hold the id of a resource (a knowledge base, a cloned voice) created during the
apply. Both are written into plan bodies as a whole-string reference, ``<secret:NAME>`` or
``<ref:KIND:KEY>``, and the applier swaps in the value from its bindings just before
sending (``resolve``). A reference can also sit inside a longer string: a credential written
as a constant in a webhook's JSON body template (``requestBody``); it is then replaced by the
value escaped for a JSON string. The comparison treats a reference as "any non-empty value"
(``embedded_match`` for one inside a string) so that planning and read-back do not see a
change they cannot judge. ``Redactor`` removes known
secret values from anything headed for a screen or a file, as a second line of defence;
``is_sensitive_name`` decides which header or query names count as credentials.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from atoms_migrate.errors import ConfigError

_REF = re.compile(r"^<(secret|ref):([^<>\s]+)>$")
_EMBEDDED = re.compile(r"<(?:secret|ref):[^<>\s]+>")
SECRET_ENV_PREFIX = "ATOMS_MIGRATE_SECRET_"
MASK = "<secret>"
_SENSITIVE = re.compile(r"auth|key|token|secret|passw|cookie|session|signature|credential", re.I)


def secret_ref(name: str) -> str:
    return f"<secret:{name}>"


def late_ref(kind: str, key: str) -> str:
    return f"<ref:{kind}:{key}>"


def parse_ref(value: Any) -> tuple[str, str] | None:
    """``("secret", NAME)`` or ``("ref", "KIND:KEY")`` for a reference string, else None."""
    if isinstance(value, str):
        m = _REF.match(value)
        if m:
            return m.group(1), m.group(2)
    return None


def is_ref(value: Any) -> bool:
    return parse_ref(value) is not None


def refs_in(value: Any) -> set[str]:
    """Every reference string anywhere in a JSON-like value."""
    found: set[str] = set()
    if isinstance(value, dict):
        for v in value.values():
            found |= refs_in(v)
    elif isinstance(value, list):
        for v in value:
            found |= refs_in(v)
    elif isinstance(value, str):
        found.update(_EMBEDDED.findall(value))
    return found


def resolve(value: Any, bindings: Mapping[str, str]) -> Any:
    """A copy of ``value`` with every reference replaced by its binding (keyed by the full ref)."""
    if isinstance(value, dict):
        return {k: resolve(v, bindings) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, bindings) for v in value]
    if is_ref(value):
        if value not in bindings:
            # Never send a reference literally: that would write "<secret:x>" as a header value.
            raise ConfigError(
                f"No value for {value} at apply time.",
                "Pass it with --secret NAME=VALUE (or its environment variable).",
            )
        return bindings[value]
    if isinstance(value, str) and _EMBEDDED.search(value):

        def bind(m: re.Match[str]) -> str:
            if m.group(0) not in bindings:
                raise ConfigError(
                    f"No value for {m.group(0)} at apply time.",
                    "Pass it with --secret NAME=VALUE (or its environment variable).",
                )
            return json.dumps(bindings[m.group(0)], ensure_ascii=False)[1:-1]  # inside a JSON string of a body template

        return _EMBEDDED.sub(bind, value)
    return value


def has_embedded_refs(value: Any) -> bool:
    """A string holding a reference inside longer text (not a whole-string reference)."""
    return isinstance(value, str) and not is_ref(value) and bool(_EMBEDDED.search(value))


def embedded_match(expected: str, actual: Any) -> bool:
    """``actual`` equals ``expected`` with each embedded reference standing for a non-empty value."""
    if not isinstance(actual, str):
        return False
    parts = _EMBEDDED.split(expected)
    return re.fullmatch(".+?".join(re.escape(p) for p in parts), actual, re.S) is not None


def secret_env_name(name: str) -> str:
    """The environment variable that may carry secret NAME: ATOMS_MIGRATE_SECRET_<NAME>, upper-cased."""
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", name.upper())


def parse_pairs(pairs: Iterable[str], option: str) -> dict[str, str]:
    """``NAME=VALUE`` command-line pairs; the value may contain '='."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            # A --secret value typed without its NAME= is the secret itself: never echo it.
            got = "a value without NAME=" if option == "--secret" else repr(pair.split("=")[0])
            raise ConfigError(
                f"{option} expects NAME=VALUE, got {got}.", f"Example: {option} API_BASE_URL=https://api.example.com"
            )
        out[name.strip()] = value
    return out


def secrets_from(cli_pairs: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """Secret values from ``--secret`` pairs, plus the ATOMS_MIGRATE_SECRET_* entries of ``environ`` (the CLI
    passes ``Settings.secret_env``: the mapping core never reads the process environment itself).

    Environment entries are keyed by their upper-cased suffix; ``lookup_secret`` matches a
    name against both spellings.
    """
    values = {k[len(SECRET_ENV_PREFIX) :]: v for k, v in environ.items() if k.startswith(SECRET_ENV_PREFIX) and v}
    values.update(parse_pairs(cli_pairs, "--secret"))
    return values


def lookup_secret(values: Mapping[str, str], name: str) -> str | None:
    if name in values:
        return values[name]
    return values.get(secret_env_name(name)[len(SECRET_ENV_PREFIX) :])


def is_sensitive_name(name: str) -> bool:
    """Header or parameter names whose literal values are treated as secrets."""
    return bool(_SENSITIVE.search(name))


def mask_url(url: str) -> str:
    """``url`` with the credentials it carries masked: the userinfo password (or a lone user
    token), and the values of credential-like query parameters (``is_sensitive_name``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, sep, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if sep else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_sensitive_name(k) and v and not v.startswith("{{") for k, v in pairs):
            query = "&".join(
                f"{k}={MASK if is_sensitive_name(k) and v and not v.startswith('{{') else v}" for k, v in pairs
            )
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Redactor:
    """Replaces known secret values with ``<secret>`` in text and JSON-like values."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        # Longest first, so a value containing another is removed whole; ignore trivial values.
        self.values = sorted({v for v in values if isinstance(v, str) and len(v) >= 4}, key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, MASK)
        return text

    def value(self, value: Any) -> Any:
        if not self.values:
            return value
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value
