"""Tool-call parity: render one example HTTP call per tool as each platform would send it (pure).

The plan must equal the source's *behaviour*, not only itself (a live config that equals a
wrong plan passes read-back). So for every ElevenLabs webhook tool that becomes an Atoms
``api_call``, the same sample inputs are rendered twice, by two separate code paths:

- ``render_elevenlabs`` reads the source tool (through ``webhooks.normalise_tool``, which
  only turns the three source shapes into one) and applies ElevenLabs' own semantics: each
  schema property's value source (EL §C.3 and its trap note: ``""``/``false``/``null``/
  ``{}``/``[]`` are not set), ``{path}`` placeholders, ``{{var}}`` templates, secret and
  variable headers. It deliberately re-implements value-source resolution instead of
  importing the converter's, so that a bug there shows up here as a difference.
- ``render_atoms`` reads only the planned ``api_call`` (Atoms §D.3): ``{{var}}`` substitution
  in URL, query values, headers and the request-body template, LLM parameters filled from
  the samples according to their declared type, then the body parsed as JSON.

Sample inputs (``Samples``): a typed value per LLM-filled slot (string, number, boolean,
enum member, JSON for arrays and objects), keyed by the slot name both platforms use
(``parent_child`` for nested fields); a value per dynamic variable, which Atoms receives
under the Atoms name of a system variable. ``compare`` checks method, URL (scheme, host,
path), query parameters, header names (case-insensitive) and values (secret references as
references), and the body as parsed JSON (equal values and equal types).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from atoms_migrate.mapping.refs import MASK, has_embedded_refs, is_ref, is_sensitive_name
from atoms_migrate.mapping.webhooks import (
    is_placeholder_value,
    normalise_tool,
    substitute,
    substitute_host,
    unique_name,
    variables_read,
)
from atoms_migrate.paths import as_dict

RenameVariable = Callable[[str], "str | None"]

_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")
_EMBEDDED_REF = re.compile(r"<(?:secret|ref):[^<>\s]+>")
_SECRET_VARIABLE = re.compile(r"\{\{\s*secret__([A-Za-z0-9_.\-]+)\s*\}\}")
_PATH_SLOT = re.compile(r"(?<![{$])\{([A-Za-z_][A-Za-z0-9_\-]*)\}(?!\})")
_BODY_METHODS = ("POST", "PUT", "PATCH")
# What may surround sample inputs in a value that is not a credential: auth scheme words, spaces, punctuation.
_CREDENTIAL_RESIDUE = re.compile(r"(?i)\b(?:bearer|basic|token)\b|[\s:;,=&/._\-]+")
_UNSET = object()


@dataclass(frozen=True)
class Request:
    """One rendered HTTP call."""

    method: str
    url: str
    query: tuple[tuple[str, str], ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # parsed JSON, or None for no body
    body_error: str = ""  # why the body is not JSON, if it is not
    encoding: str = "application/json"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "url": self.url,
            "query": [list(q) for q in self.query],
            "headers": dict(self.headers),
            "body": self.body,
        }
        if self.body_error:
            out["body_error"] = self.body_error
        if self.encoding != "application/json":
            out["encoding"] = self.encoding
        return out


@dataclass(frozen=True)
class ToolParity:
    """The outcome of rendering one tool on both platforms."""

    tool: str
    source_path: str
    elevenlabs: Request
    atoms: Request
    differences: tuple[str, ...]

    @property
    def equal(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "source_path": self.source_path,
            "equal": self.equal,
            "differences": list(self.differences),
            "elevenlabs": self.elevenlabs.to_dict(),
            "atoms": self.atoms.to_dict(),
        }


@dataclass(frozen=True)
class Samples:
    """The same inputs for both renderers."""

    llm: Mapping[str, Any]  # slot name -> value the LLM gives
    variables: Mapping[str, Any]  # ElevenLabs variable name -> value
    atoms_variables: Mapping[str, Any]  # the same values under the Atoms names
    placeholders: Mapping[str, str] = field(
        default_factory=dict
    )  # --set values: what the source's placeholders stand for


# --- ElevenLabs -------------------------------------------------------------------------------


def _has_value(value: Any) -> bool:
    """EL §C.3 trap note: an empty string, false, null, {} or [] is not a value source."""
    if value is None or value is False:
        return False
    if isinstance(value, (str, dict, list)):
        return bool(value.strip() if isinstance(value, str) else value)
    return True


def _el_source(prop: dict[str, Any]) -> str:
    named = {
        "llm_prompt": "llm",
        "llm": "llm",
        "dynamic_variable": "dynamic_variable",
        "constant_value": "constant_value",
        "constant": "constant_value",
        "system_provided": "is_system_provided",
        "is_system_provided": "is_system_provided",
        "omitted": "is_omitted",
        "is_omitted": "is_omitted",
    }.get(str(prop.get("value_type") or "").lower())
    if named == "llm":
        return "llm"
    set_sources = [
        k
        for k in ("dynamic_variable", "is_system_provided", "constant_value", "is_omitted")
        if (prop.get(k) is True if k.startswith("is_") else _has_value(prop.get(k)))
    ]
    if named in set_sources:
        return named
    return set_sources[0] if set_sources else "llm"


def _kind(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if not isinstance(kind, str):
        kind = "object" if isinstance(prop.get("properties"), dict) else "string"
    return kind


def sample_llm_value(slot: str, prop: dict[str, Any]) -> Any:
    """The typed value an LLM is assumed to give for an ElevenLabs property."""
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = _kind(prop)
    if kind in ("integer", "number"):
        return 7
    if kind == "boolean":
        return True
    if kind == "array":
        items = as_dict(prop.get("items"))
        return [sample_llm_value(f"{slot}_item", items)]
    if kind == "object":
        props = as_dict(prop.get("properties"))
        return {k: sample_llm_value(f"{slot}_{k}", v) for k, v in props.items() if isinstance(v, dict)} or {
            "key": "value"
        }
    return f"{slot}-sample"


def sample_variable_value(name: str) -> str:
    return f"<{name}>"


class _ElevenLabs:
    """Walks a source tool the way ElevenLabs fills it at call time."""

    def __init__(self, samples: Samples) -> None:
        self.samples = samples
        self.slots: dict[str, Any] = {}  # slot -> the LLM's value (also collected for building samples)
        # A slot never takes the name of a variable the tool reads (Atoms has one namespace for both).
        self._used: set[str] = {*samples.variables, *samples.atoms_variables}

    def variable(self, name: str) -> Any:
        return self.samples.variables.get(name, sample_variable_value(name))

    def text(self, text: str) -> str:
        return _TEMPLATE.sub(lambda m: _as_text(self.variable(m.group(1))), text)

    def constant(self, value: Any) -> Any:
        """A constant as sent: ``{{var}}`` templates in its strings filled, at any depth."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.constant(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.constant(v) for v in value]
        return value

    def value(self, key: str, prop: dict[str, Any]) -> Any:
        """The value sent for one property, or _UNSET when it is not sent."""
        source = _el_source(prop)
        if source == "is_omitted":
            return _UNSET
        if source == "constant_value":
            return self.constant(prop["constant_value"])
        if source == "dynamic_variable":
            return self.variable(str(prop["dynamic_variable"]).strip())
        if source == "is_system_provided":
            return f"<system-provided:{key}>"
        if _kind(prop) == "object" and isinstance(prop.get("properties"), dict) and prop["properties"]:
            return self.object(prop, f"{key}_")
        slot = unique_name(key, self._used)  # the slot naming both platforms share (parent_child)
        value = self.samples.llm.get(slot, sample_llm_value(slot, prop))
        self.slots[slot] = value
        return value

    def object(self, schema: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, dict):
                value = self.value(f"{prefix}{key}", prop)
                if value is not _UNSET:
                    out[key] = value
        return out


def render_elevenlabs(cfg: dict[str, Any], samples: Samples) -> tuple[Request, dict[str, Any]]:
    """The call ElevenLabs makes for ``cfg``; also returns the LLM slots it filled.

    Placeholders the user filled with ``--set`` take those values, as they would in the
    workspace that runs the tool; secrets are rendered as ``<secret:NAME>`` references.
    """
    req = normalise_tool(cfg)
    el = _ElevenLabs(samples)
    method = str(req.method or "GET").upper()
    url_text, _ = substitute(req.url.strip(), samples.placeholders)
    url_text, _ = substitute_host(url_text, samples.placeholders)

    path_values: dict[str, str] = {}

    def path_value(m: re.Match[str]) -> str:
        # One path parameter is one value, however often the URL names it.
        if m.group(1) not in path_values:
            prop = req.path_params.get(m.group(1))
            value = el.value(m.group(1), prop if isinstance(prop, dict) else {"type": "string"})
            path_values[m.group(1)] = "" if value is _UNSET else _as_text(value)
        return path_values[m.group(1)]

    url = el.text(_PATH_SLOT.sub(path_value, url_text))
    query: list[tuple[str, str]] = []
    if req.query:
        for key, value in el.object(req.query).items():
            query.append((key, _as_text(value)))
    body: Any = None
    if req.body is not None:
        values = el.object(req.body)
        if method in _BODY_METHODS:
            body = values
        else:  # no body on GET/DELETE: the flat CLI shape's parameters travel in the query
            query += [(k, _as_text(v)) for k, v in values.items()]
    headers: dict[str, str] = {}
    for name, value in req.headers.items():
        if isinstance(value, str):
            value = _SECRET_VARIABLE.sub(
                lambda m: f"<secret:{m.group(1)}>", value
            )  # {{secret__x}}: the workspace fills it
            headers[name] = el.text(substitute(value, samples.placeholders)[0])
        elif isinstance(value, dict) and ("secret_id" in value or "env_var_label" in value):
            headers[name] = f"<secret:{value.get('secret_id') or value.get('env_var_label')}>"
        elif isinstance(value, dict) and "variable_name" in value:
            headers[name] = _as_text(el.variable(str(value["variable_name"])))
    auth = req.auth_connection
    if isinstance(auth, dict) and auth:
        headers.setdefault(
            "Authorization",
            f"<secret:{auth.get('auth_connection_id') or auth.get('env_var_label') or 'auth_connection'}>",
        )
    return _split_url(method, url, query, headers, body, encoding=str(req.content_type or "application/json")), el.slots


# --- Atoms ------------------------------------------------------------------------------------


def _atoms_param_value(param: dict[str, Any], samples: Samples) -> Any:
    """What the LLM gives an Atoms parameter: the shared sample, as the declared type allows."""
    name, kind = str(param.get("name")), param.get("type")
    given = samples.llm.get(name, _UNSET)
    if kind == "number":
        return given if isinstance(given, (int, float)) and not isinstance(given, bool) else 7
    if kind == "boolean":
        return given if isinstance(given, bool) else True
    if kind == "enum":
        values = [str(v) for v in param.get("values") or []]
        text = given if isinstance(given, str) else json.dumps(given) if given is not _UNSET else ""
        return text if text in values else (values[0] if values else "")
    if given is _UNSET:
        return f"{name}-sample"
    return given if isinstance(given, str) else json.dumps(given, ensure_ascii=False)  # the LLM writes JSON as text


def render_atoms(tool: dict[str, Any], samples: Samples) -> Request:
    """The call Atoms makes for a planned ``api_call`` (Atoms §D.3)."""
    values: dict[str, Any] = dict(samples.atoms_variables)
    for param in tool.get("llmParameters") or []:
        if isinstance(param, dict) and param.get("name"):
            values[str(param["name"])] = _atoms_param_value(param, samples)

    def fill(text: str, in_json: bool = False) -> str:
        def swap(m: re.Match[str]) -> str:
            if m.group(1) not in values:
                return m.group(0)  # an unset variable is sent as written (Atoms §F.4)
            value = values[m.group(1)]
            if in_json and isinstance(value, str):
                return json.dumps(value, ensure_ascii=False)[1:-1]
            return _as_text(value)

        return _TEMPLATE.sub(swap, text)

    method = str(tool.get("method") or "GET").upper()
    url = fill(str(tool.get("url") or ""))
    query = [
        (str(q.get("key")), fill(str(q.get("value", "")))) for q in tool.get("queryParams") or [] if isinstance(q, dict)
    ]
    headers = {str(k): fill(str(v)) for k, v in (tool.get("headers") or {}).items()}
    for item in tool.get("headersArray") or []:
        if isinstance(item, dict):
            headers.setdefault(str(item.get("key")), fill(str(item.get("value", ""))))
    body: Any = None
    error = ""
    if isinstance(tool.get("requestBody"), str) and tool["requestBody"].strip():
        text = fill(tool["requestBody"], in_json=True)
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            body, error = text, f"not valid JSON once filled ({exc.msg})"
    return _split_url(method, url, query, headers, body, body_error=error)


# --- shared -------------------------------------------------------------------------------------


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _split_url(
    method: str,
    url: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: Any,
    encoding: str = "application/json",
    body_error: str = "",
) -> Request:
    """Query parameters written into the URL itself join the declared ones; ``user:password@``
    in the URL is sent as an ``Authorization: Basic`` header (unless one is declared), as HTTP clients do."""
    parts = urlsplit(url)
    in_url = parse_qsl(parts.query, keep_blank_values=True)
    if "@" in parts.netloc:
        userinfo, host = parts.netloc.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        if not any(k.lower() == "authorization" for k in headers):
            token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
            headers = {**headers, "Authorization": f"Basic {token}"}
        parts = parts._replace(netloc=host)
    base = parts._replace(query="", fragment="").geturl()
    return Request(method, base, tuple(in_url + query), headers, body, body_error, encoding)


def samples_for(
    cfg: dict[str, Any], rename_variable: RenameVariable, placeholders: Mapping[str, str] | None = None
) -> Samples:
    """Sample inputs for a source tool: its LLM slots and every variable it reads."""
    names: set[str] = set()
    numeric: set[str] = set()
    for name, prop in variables_read(cfg, lambda prop: _el_source(prop) == "dynamic_variable"):
        names.add(name)
        if prop is not None and _kind(prop) in ("integer", "number"):
            numeric.add(name)
    placeholders = dict(placeholders or {})
    names = {n for n in names if not n.startswith(("system_env__", "secret__")) and n not in placeholders}
    variables: dict[str, Any] = {}
    atoms: dict[str, Any] = {}
    for name in sorted(names):
        atoms_name = rename_variable(name) if name.startswith("system__") else name
        value: Any = 42 if name in numeric else sample_variable_value(atoms_name or name)
        variables[name] = value
        if atoms_name:
            atoms[atoms_name] = value
    # The LLM slots come from walking the tool once as ElevenLabs does.
    _, slots = render_elevenlabs(cfg, Samples({}, variables, atoms, placeholders))
    return Samples(slots, variables, atoms, placeholders)


def compare(elevenlabs: Request, atoms: Request) -> list[str]:
    """Each difference as ``field: ElevenLabs sends X, Atoms sends Y``."""
    out: list[str] = []

    def differ(where: str, a: Any, b: Any) -> None:
        out.append(f"{where}: ElevenLabs sends {_show(a)}, Atoms sends {_show(b)}")

    if elevenlabs.method != atoms.method:
        differ("method", elevenlabs.method, atoms.method)
    a_url, b_url = urlsplit(elevenlabs.url), urlsplit(atoms.url)
    for part in ("scheme", "netloc", "path"):
        if getattr(a_url, part) != getattr(b_url, part):
            differ(f"url.{'host' if part == 'netloc' else part}", getattr(a_url, part), getattr(b_url, part))
    a_query, b_query = _multi(elevenlabs.query), _multi(atoms.query)
    for key in list(dict.fromkeys([*a_query, *b_query])):
        if a_query.get(key) != b_query.get(key):
            differ(f"query.{key}", _one(a_query.get(key)), _one(b_query.get(key)))
    a_headers = {k.lower(): (k, v) for k, v in elevenlabs.headers.items()}
    b_headers = {k.lower(): (k, v) for k, v in atoms.headers.items()}
    for key in list(dict.fromkeys([*a_headers, *b_headers])):
        a, b = a_headers.get(key), b_headers.get(key)
        if (a and a[1]) != (b and b[1]):
            differ(f"headers.{(a or b)[0]}", a[1] if a else None, b[1] if b else None)  # type: ignore[index]
    if elevenlabs.encoding != atoms.encoding:
        differ("body encoding", elevenlabs.encoding, atoms.encoding)
    if atoms.body_error:
        out.append(f"body: Atoms' body is {atoms.body_error}")
    else:
        _compare_json("body", elevenlabs.body, atoms.body, differ)
    return out


def _compare_json(where: str, a: Any, b: Any, differ: Callable[[str, Any, Any], None]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(dict.fromkeys([*a, *b])):
            _compare_json(f"{where}.{key}", a.get(key, _UNSET), b.get(key, _UNSET), differ)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare_json(f"{where}[{i}]", x, y, differ)
    elif type(a) is not type(b) or a != b:  # 1 and 1.0 differ in type on the wire; True and 1 too
        if not (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and not isinstance(a, bool)
            and not isinstance(b, bool)
            and a == b
        ):
            differ(where, a, b)


def _multi(pairs: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def _one(values: list[str] | None) -> Any:
    if values is None:
        return _UNSET
    return values[0] if len(values) == 1 else values


def _show(value: Any) -> str:
    if value is _UNSET or value is None:
        return "nothing"
    return json.dumps(value, ensure_ascii=False)


def tool_parity(
    cfg: dict[str, Any],
    tool: dict[str, Any],
    source_path: str,
    rename_variable: RenameVariable,
    placeholders: Mapping[str, str] | None = None,
) -> ToolParity:
    """Render ``cfg`` (ElevenLabs) and its planned ``tool`` (Atoms) from the same samples and compare."""
    samples = samples_for(cfg, rename_variable, placeholders)
    elevenlabs, _ = render_elevenlabs(cfg, samples)
    atoms = render_atoms(tool, samples)
    elevenlabs = _mask_credentials(elevenlabs, atoms, samples)
    return ToolParity(
        str(tool.get("name") or cfg.get("name") or ""),
        source_path,
        elevenlabs,
        atoms,
        tuple(compare(elevenlabs, atoms)),
    )


def _mask_credentials(elevenlabs: Request, atoms: Request, samples: Samples) -> Request:
    """Literal credentials of the source never reach a report: compared as the reference Atoms holds.

    A credential-named header, query or body value (at any nesting level, named ``parent_child``
    as the converter names it) written literally in the source that Atoms sends as a
    ``<secret:NAME>`` reference is shown as that reference; any other is shown as ``<secret>``.
    A value made only of sample inputs (``Bearer {{token}}`` rendered with its sample) is not a
    literal credential. A placeholder header value (``Bearer YOUR_TOKEN``) for which the user
    gave a secret is compared as the reference Atoms holds, since that is what the workspace sends.
    """
    from_samples = sorted(
        {_as_text(v) for v in [*samples.llm.values(), *samples.variables.values()]}, key=len, reverse=True
    )

    def only_samples(value: str) -> bool:
        residue = value
        for sample in from_samples:
            if sample:
                residue = residue.replace(sample, " ")
        return not _CREDENTIAL_RESIDUE.sub("", residue)

    def masked(key: str, value: Any, theirs: Any) -> Any:
        if isinstance(value, str) and is_ref(theirs) and value.strip() and is_placeholder_value(value):
            return theirs
        if has_embedded_refs(value) and not only_samples(_EMBEDDED_REF.sub(" ", value)):
            return MASK  # literal text beside a reference: still a credential
        if has_embedded_refs(value):
            return value  # references to secrets (Bearer <secret:x>), never their values
        if (
            not (isinstance(value, str) and value.strip() and is_sensitive_name(key))
            or is_ref(value)
            or only_samples(value)
        ):
            return value
        return theirs if is_ref(theirs) else MASK

    def masked_tree(prefix: str, value: Any, theirs: Any) -> Any:
        if isinstance(value, dict):
            other = theirs if isinstance(theirs, dict) else {}
            return {k: masked_tree(f"{prefix}{k}_", v, other.get(k)) for k, v in value.items()}
        if isinstance(value, list):
            others = theirs if isinstance(theirs, list) else []
            return [masked_tree(prefix, v, others[i] if i < len(others) else None) for i, v in enumerate(value)]
        return masked(prefix.removesuffix("_"), value, theirs)

    atoms_headers = {k.lower(): v for k, v in atoms.headers.items()}
    atoms_query = dict(atoms.query)
    headers = {k: masked(k, v, atoms_headers.get(k.lower())) for k, v in elevenlabs.headers.items()}
    query = tuple((k, masked(k, v, atoms_query.get(k))) for k, v in elevenlabs.query)
    body = (
        masked_tree("", elevenlabs.body, atoms.body) if isinstance(elevenlabs.body, (dict, list)) else elevenlabs.body
    )
    return Request(elevenlabs.method, elevenlabs.url, query, headers, body, elevenlabs.body_error, elevenlabs.encoding)


def summary(parity: ToolParity) -> str:
    """``POST /tools/get_incident  body 1 field`` (or the first difference)."""
    path = urlsplit(parity.atoms.url).path or "/"
    text = f"{parity.atoms.method} {path}"
    if parity.atoms.query:
        text += f"  query {len(parity.atoms.query)} param{'s' if len(parity.atoms.query) != 1 else ''}"
    if isinstance(parity.atoms.body, dict):
        n = len(parity.atoms.body)
        text += f"  body {n} field{'s' if n != 1 else ''}"
    return text
