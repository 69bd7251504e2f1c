"""ElevenLabs webhook tool -> Atoms ``api_call`` tool (EL §C.3; Atoms §D.3). Pure.

Three source shapes are read: the API shape (``api_schema`` with JSON-schema path, query
and body schemas), the flat shape some repositories keep in ``tool_configs/`` (``url``,
``method``, ``headers``, ``parameters`` at the top level) and the list shape of hand-written
YAML (``webhook: {url, method}`` plus ``parameters: [{name, type, ...}]``).

Rules, each reported where it loses something:

- Every schema property has one value source (EL §C.3 and its trap note): a source applies
  only when it holds a value (``""``, ``false``, ``null``, ``{}`` and ``[]`` are "not set",
  because real GET responses fill unused sources with them). A UI-style ``value_type`` names
  the source outright; otherwise the first set one of ``dynamic_variable``,
  ``is_system_provided``, ``constant_value``, ``is_omitted`` (the reference's order) applies,
  and with none set the LLM fills the property. This holds for literal, object and array
  properties at every level, in path, query and body positions.
- LLM-filled properties become ``llmParameters`` (text, number, boolean or ``enum`` with its
  values; ``required`` kept) and a ``{{name}}`` slot where the value goes; constants are
  written literally; dynamic variables become ``{{var}}`` with ``system__`` names renamed.
- Path placeholders ``{id}`` become ``{{id}}``. The request body becomes a JSON template
  string: number, integer and boolean LLM parameters are unquoted, so their types survive;
  every other slot is quoted (Atoms types only its parameters, and an unquoted slot holding
  text makes the body invalid JSON). Nested objects are flattened into parameters named
  ``parent_child``; arrays and free-form objects become a text parameter the LLM fills with
  JSON, carried in the body as a string (lossy). Where the wire type then differs from
  ElevenLabs' (a numeric variable, an integer enum, an array), the parity check of
  ``toolcalls.py`` reports it.
- ``system__`` variables are renamed in every template: URL, query, headers, body constants
  and the tool's and parameters' descriptions (Atoms §F.4).
- ``--set NAME=VALUE`` substitutes ``${NAME}``, ``<NAME>`` and ``{{NAME}}`` in URLs and
  header values, and a bare ALL-CAPS host token (``https://YOUR_BACKEND_HOST/x``). A URL that
  still has a placeholder in its host (or any ``${..}``/``<..>``) cannot go live: an error
  naming it.
- Header values that reference a workspace secret, environment variable or auth
  connection cannot be read from ElevenLabs: they become ``<secret:NAME>`` references when
  a value was supplied, else an error naming the ``--secret`` to pass. Literal values of
  credential-like headers or query parameters are kept out of the plan the same way, and a
  literal header value that is plainly a placeholder (``REDACTED``, ``YOUR_...``,
  ``<<...>>``, ``xxxx``, ``changeme``) is a missing secret: an error, never sent live.
- Three source shapes are normalised first (``normalise_tool``), so the converter and the
  ElevenLabs renderer of ``toolcalls.py`` read the same thing; the UI shape's lists
  (``properties: [{id, ...}]``, ``request_headers: [{type, name, value}]``) become maps.
- ``response_timeout_secs`` becomes ``timeout`` in milliseconds, clamped to 1000-30000;
  ``assignments`` become ``responseVariables`` with ``$.`` JSON paths.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from atoms_migrate.mapping.refs import is_sensitive_name, mask_url, secret_env_name, secret_ref
from atoms_migrate.model import FindingStatus, Severity

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
BODY_METHODS = ("POST", "PUT", "PATCH")
TIMEOUT_MS = (1000, 30000)  # Atoms §D.3
ELEVENLABS_DEFAULT_TIMEOUT_SECS = 20  # EL §C.3

_PATH_PARAM = re.compile(r"(?<![{$])\{([A-Za-z_][A-Za-z0-9_\-]*)\}(?!\})")
_DOUBLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")
_SECRET_VAR = re.compile(r"\{\{\s*secret__([A-Za-z0-9_.\-]+)\s*\}\}")  # EL §A.8: secret variables, tool headers only
_DOLLAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANGLE = re.compile(r"<([A-Za-z_][A-Za-z0-9_\-]*)>")
# A header value that is plainly a stand-in for a credential, whole or after an auth scheme word.
_PLACEHOLDER_VALUE = re.compile(
    r"^(?:(?:bearer|basic|token|apikey)\s+)?"
    r"(your[_\- ]\S*|redacted|x{3,}|\*{3,}|changeme|change[_\-]me|todo|placeholder"
    r"|<<.*>>|<[^<>]*>|\$\{[^}]*\}|insert[_\- ]\S*"
    # sk-xxxx, sk_test_xxxx, xxx-xxx-xxx, API_KEY_HERE, replace-me, "..."
    r"|[a-z]{1,8}(?:[_\-][a-z]{1,8})*[_\-]x{4,}|x{3,}(?:[_\-]x{3,})+|\S+[_\-]here|replace[_\- ]?me|\.{3,}|\u2026)$",
    re.I,
)
# An ALL-CAPS token standing for a host: YOUR_BACKEND_HOST, API_BASE_URL, BACKEND.
_HOST_TOKEN = re.compile(r"^(?:YOUR[A-Z0-9_]*|[A-Z][A-Z0-9]*_[A-Z0-9_]+)$")
# What may surround {{var}} templates in a value that is not a literal credential.
_TEMPLATE_RESIDUE = re.compile(r"(?i)\b(?:bearer|basic|token)\b|[\s:;,=&/._\-]+")
_RAW = "\x00RAW:"
_CONSUMED_TOP = {
    "type",
    "name",
    "description",
    "api_schema",
    "response_timeout_secs",
    "assignments",
    "webhook",
    "parameters",
    "url",
    "method",
    "headers",
}
_CONSUMED_SCHEMA = {
    "url",
    "method",
    "path_params_schema",
    "query_params_schema",
    "request_body_schema",
    "request_headers",
    "content_type",
    "auth_connection",
}
# UI-style value_type -> our value-source names.
_VALUE_TYPES = {
    "llm_prompt": "llm",
    "llm": "llm",
    "dynamic_variable": "variable",
    "constant_value": "constant",
    "constant": "constant",
    "system_provided": "system",
    "is_system_provided": "system",
    "omitted": "omit",
    "is_omitted": "omit",
}

RenameVariable = Callable[[str], "str | None"]
ValueSource = Literal["omit", "constant", "variable", "system", "llm"]


@dataclass(frozen=True)
class ToolOptions:
    """What the user supplied: ``--set`` values, and the names that have a secret value."""

    values: Mapping[str, str] = field(default_factory=dict)
    secret_names: frozenset[str] = frozenset()

    def has_secret(self, name: str) -> bool:
        upper = secret_env_name(name).removeprefix("ATOMS_MIGRATE_SECRET_")
        return name in self.secret_names or upper in self.secret_names


@dataclass(frozen=True)
class Note:
    """A finding about one part of the tool; ``path`` is relative to the tool config."""

    path: str
    status: FindingStatus | Literal["mapped"]  # "mapped": an explanation of the change, not a finding
    severity: Severity
    message: str
    hint: str = ""


@dataclass
class Conversion:
    tool: dict[str, Any]
    lossy: list[str] = field(default_factory=list)  # why the tool as a whole is lossy
    notes: list[Note] = field(default_factory=list)
    literal_secrets: dict[str, str] = field(default_factory=dict)  # name -> value from the source, never shown

    @property
    def blocked(self) -> bool:
        return any(n.severity == "error" for n in self.notes)


@dataclass
class ToolRequest:
    """A source webhook tool in one normalised form, with where each part came from."""

    url: str
    url_path: str
    method: str
    method_path: str
    path_params: dict[str, Any]
    query: dict[str, Any] | None
    query_path: str
    body: dict[str, Any] | None
    body_path: str
    headers: dict[str, Any]
    headers_path: str
    content_type: str | None
    auth_connection: Any


def is_set(value: Any) -> bool:
    """A value source holds a value: ``""``, ``false``, ``null``, ``{}`` and ``[]`` do not (EL §C.3 trap note)."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (dict, list)):
        return bool(value)
    return True


def value_source(prop: dict[str, Any]) -> tuple[ValueSource, list[str]]:
    """The value source that applies to a schema property, and the other set sources it beat."""
    candidates: list[tuple[ValueSource, str]] = []
    if is_set(prop.get("dynamic_variable")):
        candidates.append(("variable", "dynamic_variable"))
    if prop.get("is_system_provided") is True:
        candidates.append(("system", "is_system_provided"))
    if is_set(prop.get("constant_value")):
        candidates.append(("constant", "constant_value"))
    if prop.get("is_omitted") is True:
        candidates.append(("omit", "is_omitted"))
    chosen = _VALUE_TYPES.get(str(prop.get("value_type") or "").lower())
    if chosen and (chosen == "llm" or any(c[0] == chosen for c in candidates)):
        return chosen, [key for kind, key in candidates if kind != chosen]  # type: ignore[return-value]
    if not candidates:
        return "llm", []
    return candidates[0][0], [key for _, key in candidates[1:]]


def normalise_tool(cfg: dict[str, Any]) -> ToolRequest:
    """Any of the three source shapes -> one ``ToolRequest`` whose schemas are JSON-schema maps."""
    api = cfg.get("api_schema")
    if isinstance(api, dict):
        return ToolRequest(
            url=str(api.get("url") or ""),
            url_path="api_schema.url",
            method=api.get("method") or "GET",
            method_path="api_schema.method",
            path_params=_props_map(api.get("path_params_schema")),
            query=_object_schema(api.get("query_params_schema")),
            query_path="api_schema.query_params_schema",
            body=_object_schema(api.get("request_body_schema")),
            body_path="api_schema.request_body_schema",
            headers=_headers_map(api.get("request_headers")),
            headers_path="api_schema.request_headers",
            content_type=api.get("content_type"),
            auth_connection=api.get("auth_connection"),
        )
    hook = cfg.get("webhook") if isinstance(cfg.get("webhook"), dict) else None
    where = "webhook." if hook else ""
    src = hook or cfg
    params = cfg.get("parameters")
    if isinstance(params, list):  # [{name, type, description, required}]
        params = {"type": "object", "properties": params}
    return ToolRequest(
        url=str(src.get("url") or ""),
        url_path=f"{where}url",
        method=src.get("method") or "GET",
        method_path=f"{where}method",
        path_params={},
        query=None,
        query_path="parameters",
        body=_object_schema(params),
        body_path="parameters",
        headers=_headers_map(src.get("headers")),
        headers_path=f"{where}headers",
        content_type=None,
        auth_connection=None,
    )


def _props_map(props: Any) -> dict[str, Any]:
    """``properties`` as a map; the UI shape's list ``[{id|name, ...}]`` is keyed by its id."""
    if isinstance(props, dict):
        return {k: _property(v) for k, v in props.items()}
    if isinstance(props, list):
        out: dict[str, Any] = {}
        for item in props:
            if isinstance(item, dict) and (item.get("id") or item.get("name")):
                out[str(item.get("id") or item.get("name"))] = _property(
                    {k: v for k, v in item.items() if k not in ("id", "name")}
                )
        return out
    return {}


def _object_schema(schema: Any) -> dict[str, Any] | None:
    if not isinstance(schema, (dict, list)):
        return None
    if isinstance(schema, list):  # UI shape: query_params_schema: [{id, ...}]
        schema = {"properties": schema}
    raw = schema.get("properties")
    out = dict(schema)
    out["properties"] = _props_map(raw)
    required = [str(r) for r in schema["required"]] if isinstance(schema.get("required"), list) else []
    if isinstance(raw, list):  # per-item ``required: true`` of the list shapes
        required += [
            str(i.get("id") or i.get("name")) for i in raw if isinstance(i, dict) and i.get("required") is True
        ]
    out["required"] = list(dict.fromkeys(required))
    return out


def _property(prop: Any) -> Any:
    if not isinstance(prop, dict):
        return prop
    if "properties" in prop:
        return _object_schema(prop)
    if isinstance(prop.get("items"), dict):
        return {**prop, "items": _property(prop["items"])}
    return prop


def _headers_map(headers: Any) -> dict[str, Any]:
    """Headers as ``{name: value}``; the UI list ``[{type: value|secret|dynamic_variable, name, ...}]`` too."""
    if isinstance(headers, dict):
        return dict(headers)
    out: dict[str, Any] = {}
    for item in headers if isinstance(headers, list) else []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        kind = item.get("type")
        if kind == "secret" or "secret_id" in item:
            out[str(item["name"])] = {"secret_id": item.get("secret_id") or item.get("value")}
        elif kind in ("dynamic_variable", "variable") or "variable_name" in item:
            out[str(item["name"])] = {
                "variable_name": item.get("variable_name") or item.get("dynamic_variable") or item.get("value")
            }
        else:
            out[str(item["name"])] = item.get("value")
    return out


def convert_webhook(
    cfg: dict[str, Any], name: str, rename_variable: RenameVariable, options: ToolOptions
) -> Conversion:
    conv = Conversion(tool={})
    req = normalise_tool(cfg)
    builder = _Builder(name, rename_variable, options, conv)
    builder.reserve_variable_names(cfg)
    raw_description = cfg.get("description")
    description = raw_description.strip() if isinstance(raw_description, str) else ""
    if not description:
        description = f"Call {name}."
        wrong = (
            f" (found {type(raw_description).__name__}, not text)"
            if raw_description is not None and not isinstance(raw_description, str)
            else ""
        )
        conv.notes.append(
            Note(
                "description",
                "lossy",
                "warning",
                f"The tool has no description{wrong}; Atoms needs one, so a generic one was written.",
                "Describe when the agent should call the tool.",
            )
        )
    description = builder.rename_templates(description, "description")
    method = str(req.method or "GET").upper()
    if method not in METHODS:
        conv.notes.append(
            Note(
                req.method_path,
                "unmapped",
                "error",
                f"HTTP method {req.method!r} is not supported by Atoms api_call ({', '.join(METHODS)}).",
            )
        )
        method = "GET"
    url = builder.url(req)
    tool: dict[str, Any] = {"type": "api_call", "name": name, "description": description, "url": url, "method": method}
    tool["timeout"] = builder.timeout(cfg.get("response_timeout_secs"))
    headers = builder.headers(req)
    query = builder.query(req)
    builder.add_url_credentials(headers, query, req.url_path)
    if headers:
        tool["headers"] = headers
    if query:
        tool["queryParams"] = query
    if req.body is not None:
        if method in BODY_METHODS:
            tool["requestBody"] = builder.body(req.body, req.body_path)
        else:
            builder.params_into_query(req.body, req.body_path, tool.setdefault("queryParams", []))
            if not tool["queryParams"]:
                del tool["queryParams"]
    if req.content_type and req.content_type != "application/json":
        conv.lossy.append(f"{req.content_type} body sent as JSON")
        conv.notes.append(
            Note(
                "api_schema.content_type",
                "lossy",
                "warning",
                f"Body encoding {req.content_type} is not available on Atoms; the body is sent as JSON.",
                "Make the endpoint accept JSON.",
            )
        )
    if builder.params:
        tool["llmParameters"] = builder.params
    variables = builder.response_variables(cfg.get("assignments"))
    if variables:
        tool["responseVariables"] = variables
    leftovers = _leftovers(cfg)
    if leftovers:
        conv.notes.append(
            Note("", "ignored", "info", f"Tool settings with no Atoms api_call equivalent: {', '.join(leftovers)}.")
        )
    conv.tool = tool
    return conv


def _leftovers(cfg: dict[str, Any]) -> list[str]:
    out = [k for k, v in cfg.items() if k not in _CONSUMED_TOP and v not in (None, "", [], {})]
    api = cfg.get("api_schema")
    if isinstance(api, dict):
        out += [f"api_schema.{k}" for k, v in api.items() if k not in _CONSUMED_SCHEMA and v not in (None, "", [], {})]
    return sorted(out)


def substitute(text: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace ``${N}``, ``<N>``, ``{{N}}`` and ``{{system_env__N}}`` for every N given a value."""
    used: list[str] = []

    def swap(m: re.Match[str]) -> str:
        name = m.group(1)
        for candidate in (name, name.removeprefix("system_env__")):
            if candidate in values:
                used.append(candidate)
                return values[candidate]
        return m.group(0)

    for pattern in (_DOLLAR, _ANGLE, _DOUBLE):
        text = pattern.sub(swap, text)
    return text, used


def substitute_host(url: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace bare ALL-CAPS host tokens (``https://YOUR_HOST/x``, ``API_BASE/x``) given by ``--set``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    host, slash, path = rest.partition("/")
    used: list[str] = []
    labels = host.split(".")
    for i, label in enumerate(labels):
        bare = label.split(":")[0]
        if bare in values:
            used.append(bare)
            labels[i] = label.replace(bare, values[bare].rstrip("/"), 1)
    if not used:
        return url, []
    host = ".".join(labels)
    if "://" in host:  # the value carried its own scheme
        return f"{host}{slash}{path}", used
    return (f"{scheme}://" if scheme else "https://") + f"{host}{slash}{path}", used


def unresolved_placeholders(url: str) -> list[str]:
    """Placeholders that keep a URL from working.

    Any ``${N}``/``<N>``/env template, ``{{N}}`` or ALL-CAPS token in the host.
    """
    found = [f"${{{n}}}" for n in _DOLLAR.findall(url)] + [f"<{n}>" for n in _ANGLE.findall(url)]
    found += ["{{" + n + "}}" for n in _DOUBLE.findall(url) if n.startswith("system_env__")]
    rest = url.split("://", 1)[1] if "://" in url else url
    host = rest.split("/", 1)[0]
    found += ["{{" + n + "}}" for n in _DOUBLE.findall(host) if not n.startswith("system_env__")]
    if "{{" not in host:
        found += [label.split(":")[0] for label in host.split(".") if _HOST_TOKEN.match(label.split(":")[0])]
    return list(dict.fromkeys(found))


def unique_name(key: str, taken: set[str]) -> str:
    """An LLM-parameter name for ``key`` (``a.b c`` -> ``a_b_c``).

    Made unique with ``_2``, ``_3``…; added to ``taken``.
    """
    name = re.sub(r"[^A-Za-z0-9_]+", "_", key).strip("_") or "value"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def variables_read(
    cfg: dict[str, Any], reads_variable: Callable[[dict[str, Any]], bool]
) -> list[tuple[str, dict[str, Any] | None]]:
    """Every variable a source tool reads: (name, the property) for a property whose value source
    is its ``dynamic_variable`` (decided by ``reads_variable``, so each caller applies its own
    reading of value sources), (name, None) for variable headers and ``{{name}}`` templates."""
    found: list[tuple[str, dict[str, Any] | None]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            var = value.get("dynamic_variable")
            if isinstance(var, str) and var.strip() and reads_variable(value):
                found.append((var.strip(), value))
            if isinstance(value.get("variable_name"), str):
                found.append((value["variable_name"], None))
            for k, v in value.items():
                if k != "dynamic_variable":
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            found.extend((name, None) for name in _DOUBLE.findall(value))

    walk({k: v for k, v in cfg.items() if k not in ("assignments", "description")})
    for value in normalise_tool(cfg).headers.values():  # the UI list shape names its variable in "value"
        if isinstance(value, dict) and isinstance(value.get("variable_name"), str):
            found.append((value["variable_name"], None))
    return found


def is_template_only(value: str) -> bool:
    """``{{token}}`` or ``Bearer {{token}}``: filled from variables at call time, so not a literal credential."""
    if not _DOUBLE.search(value):
        return False
    return not _TEMPLATE_RESIDUE.sub("", _DOUBLE.sub(" ", value))


def is_placeholder_value(value: str) -> bool:
    """A literal header value that plainly stands in for a real credential."""
    return bool(_PLACEHOLDER_VALUE.match(value.strip()))


def _placeholder_name(token: str) -> str:
    return token.strip("${}<>").removeprefix("system_env__")


class _Builder:
    def __init__(self, tool_name: str, rename_variable: RenameVariable, options: ToolOptions, conv: Conversion) -> None:
        self.tool_name, self.rename_variable, self.options, self.conv = tool_name, rename_variable, options, conv
        self.params: list[dict[str, Any]] = []
        self._param_names: set[str] = set()
        self.url_auth: str | None = None  # "Basic …" from user:password@ in the URL
        self.url_query: list[tuple[str, str]] = []  # credential query parameters taken out of the URL

    def reserve_variable_names(self, cfg: dict[str, Any]) -> None:
        """LLM parameters never take the name of a variable the tool reads: on Atoms both are
        ``{{name}}`` in one namespace, so ``order_id`` the parameter would fill ``{{order_id}}`` the variable."""
        for var, _ in variables_read(cfg, lambda prop: value_source(prop)[0] == "variable"):
            if var.startswith(("system_env__", "secret__")) or var in self.options.values:
                continue
            self._param_names.add(var)
            renamed = self.rename_variable(var) if var.startswith("system__") else None
            if renamed:
                self._param_names.add(renamed)

    # -- pieces ------------------------------------------------------------------------------
    def url(self, req: ToolRequest) -> str:
        url, used = substitute(req.url.strip(), self.options.values)
        url, used_host = substitute_host(url, self.options.values)
        used += used_host
        if used:
            self.conv.notes.append(
                Note(
                    req.url_path,
                    "mapped",
                    "info",
                    f"Placeholders substituted from --set: {', '.join(sorted(set(used)))}.",
                )
            )

        seen: dict[str, str] = {}

        def path_param(m: re.Match[str]) -> str:
            key = m.group(1)
            if key in seen:  # one path parameter is one value, however often the URL names it
                return seen[key]
            prop = req.path_params.get(key)
            where = f"api_schema.path_params_schema.{key}"
            if not isinstance(prop, dict):
                self.conv.lossy.append(f"path parameter {key} has no schema")
                prop, where = {"type": "string", "description": f"The {key} for the request URL."}, req.url_path
            value = self._templated(key, prop, where, required=True, in_text=True)
            seen[key] = "" if value is None else str(value)
            return seen[key]

        url = _PATH_PARAM.sub(path_param, url)
        url = self.rename_templates(url, req.url_path)
        shown = mask_url(url)  # credentials in the URL are never shown, not even in a finding
        for token in unresolved_placeholders(url):
            name = _placeholder_name(token)
            self.conv.notes.append(
                Note(
                    req.url_path,
                    "unmapped",
                    "error",
                    f"Tool {self.tool_name}: URL {shown} still holds the placeholder {token}, so it cannot go live.",
                    f"Pass --set {name}=VALUE with the real value (for a host: --set {name}=api.example.com).",
                )
            )
        if not unresolved_placeholders(url) and not re.match(r"^https?://[^/\s]+", url):
            self.conv.notes.append(
                Note(
                    req.url_path,
                    "unmapped",
                    "error",
                    f"Tool {self.tool_name}: URL {shown!r} is not an absolute http(s) URL.",
                    "Fix the URL in the source, or pass --set for its placeholder.",
                )
            )
        if shown != url:
            url = self._credentials_out_of_url(url, shown, req.url_path)
        return url

    def _credentials_out_of_url(self, url: str, shown: str, where: str) -> str:
        """Credentials written into the URL leave it, as an HTTP client sends them: ``user:password@``
        as an ``Authorization: Basic`` header, ``?api_key=…`` as a query parameter; both then
        become secret references like any literal credential (``add_url_credentials``)."""
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, netloc = netloc.rsplit("@", 1)
            user, _, password = userinfo.partition(":")
            token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
            self.url_auth = f"Basic {token}"
        kept = []
        for piece in parts.query.split("&") if parts.query else []:
            key, _, value = piece.partition("=")
            if is_sensitive_name(unquote(key)) and value and not value.startswith(("{{", "%7B%7B")):
                self.url_query.append((unquote(key), unquote(value)))
            else:
                kept.append(piece)
        self.conv.notes.append(
            Note(
                where,
                "mapped",
                "info",
                f"The URL of tool {self.tool_name} ({shown}) carries credentials; they are sent as "
                f"{'an Authorization: Basic header' if self.url_auth else ''}"
                f"{' and ' if self.url_auth and self.url_query else ''}"
                f"{'query parameters' if self.url_query else ''}, as an HTTP client sends them, and never shown.",
            )
        )
        return urlunsplit((parts.scheme, netloc, parts.path, "&".join(kept), parts.fragment))

    def add_url_credentials(self, headers: dict[str, str], query: list[dict[str, str]], where: str) -> None:
        """The credentials ``_credentials_out_of_url`` took from the URL, as secret references."""
        if self.url_auth:
            if any(k.lower() == "authorization" for k in headers):
                self.conv.notes.append(
                    Note(
                        where,
                        "lossy",
                        "warning",
                        f"Tool {self.tool_name} has both user:password in its URL and an Authorization header; "
                        "the header is kept, as HTTP clients send it.",
                        "Remove one of them in the source.",
                    )
                )
            else:
                value = self._literal("Authorization", self.url_auth, where, header=True)
                if value is not None:
                    headers["Authorization"] = value
        for key, value in self.url_query:
            literal = self._literal(key, value, where)
            if literal is not None:
                query.insert(0, {"key": key, "value": literal})

    def rename_templates(self, text: str, where: str) -> str:
        """``{{system__x}}`` -> the Atoms system variable (Atoms §F.4), wherever a template can be."""

        def swap(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("system__"):
                new = self.rename_variable(name)
                if new is None:
                    self.conv.notes.append(
                        Note(
                            where,
                            "lossy",
                            "warning",
                            f"System variable {name} has no Atoms equivalent; it stays as written.",
                        )
                    )
                    return m.group(0)
                return "{{" + new + "}}"
            return m.group(0)

        return _DOUBLE.sub(swap, text)

    def timeout(self, secs: Any) -> int:
        if (
            not isinstance(secs, (int, float))
            or isinstance(secs, bool)
            or (isinstance(secs, float) and not math.isfinite(secs))
        ):
            return ELEVENLABS_DEFAULT_TIMEOUT_SECS * 1000
        low, high = TIMEOUT_MS
        # Bound the seconds before converting: 1e308 s would overflow to infinity in milliseconds.
        within = min(max(secs, low / 1000), high / 1000)
        clamped = int(round(within * 1000))
        if within != secs:
            shown = str(secs) if len(str(secs)) <= 16 else f"{str(secs)[:6]}… ({len(str(secs))} digits)"
            self.conv.lossy.append(f"timeout {shown} s clamped to {clamped} ms")
            self.conv.notes.append(
                Note(
                    "response_timeout_secs",
                    "lossy",
                    "warning",
                    f"Timeout {shown} s is outside Atoms' 1-30 s range; clamped to {clamped // 1000} s.",
                )
            )
        return clamped

    def headers(self, req: ToolRequest) -> dict[str, str]:
        out: dict[str, str] = {}
        for header, value in req.headers.items():
            where = f"{req.headers_path}.{header}"
            if isinstance(value, str) and _SECRET_VAR.search(value):
                ref = self._secret_variables(header, value, where)
                if ref is not None:
                    out[header] = ref
            elif isinstance(value, str):
                value, _ = substitute(value, self.options.values)
                literal = self._literal(header, value, where, header=True)
                if literal is not None:
                    out[header] = self.rename_templates(literal, where)
                    if _DOUBLE.search(out[header]):  # the same doubt as a variable header, below
                        self._templated_header(
                            where,
                            f"header {header} holds a variable",
                            f"Header {header} holds {{{{var}}}} templates; Atoms documents them for URL, query and "
                            "body, not headers (§D.3: static headers).",
                        )
            elif isinstance(value, dict) and ("secret_id" in value or "env_var_label" in value):
                name = str(value.get("secret_id") or value.get("env_var_label"))
                kind = "workspace secret" if "secret_id" in value else "environment variable"
                ref = self._secret(
                    name, where, f"Header {header} of tool {self.tool_name} references the ElevenLabs {kind} {name}"
                )
                if ref:
                    out[header] = ref
            elif isinstance(value, dict) and "variable_name" in value:
                var = str(value["variable_name"])
                out[header] = "{{" + (self.rename_variable(var) or var if var.startswith("system__") else var) + "}}"
                self._templated_header(
                    where,
                    f"header {header} from a variable",
                    f"Header {header} takes the dynamic variable {var}; Atoms documents {{{{var}}}} templates for "
                    "URL, query and body, not headers.",
                )
            else:
                self.conv.notes.append(
                    Note(where, "unmapped", "warning", f"Header {header} has a value of unknown form; not migrated.")
                )
        auth = req.auth_connection
        if isinstance(auth, dict) and auth:
            name = str(auth.get("auth_connection_id") or auth.get("env_var_label") or "auth_connection")
            ref = self._secret(
                name,
                "api_schema.auth_connection",
                (
                    f"Tool {self.tool_name} authenticates with the ElevenLabs auth connection {name}; Atoms api_call "
                    "has static headers only"
                ),
                "the Authorization header value",
            )
            if ref:
                out.setdefault("Authorization", ref)
        return out

    def _templated_header(self, where: str, lossy: str, message: str) -> None:
        """A header filled from a variable: lossy, and a warning to check it on Atoms (§D.3 documents templates for
        URL, query and body only)."""
        self.conv.lossy.append(lossy)
        self.conv.notes.append(Note(where, "lossy", "warning", message, "Check on Atoms that the header is filled in."))

    def _secret_variables(self, header: str, value: str, where: str) -> str | None:
        """``Bearer {{secret__api_key}}``: ElevenLabs secret variables, usable only in tool headers (EL §A.8).

        Each becomes a ``<secret:NAME>`` reference inside the value, bound from ``--secret NAME`` at
        apply time (Atoms variables are visible to the model, so the value is written into the header)."""
        missing: list[str] = []

        def swap(m: re.Match[str]) -> str:
            if self.options.has_secret(m.group(1)):
                return secret_ref(m.group(1))
            missing.append(m.group(1))
            return m.group(0)

        filled = _SECRET_VAR.sub(swap, value)
        for name in dict.fromkeys(missing):
            self.conv.notes.append(
                Note(
                    where,
                    "unmapped",
                    "error",
                    (
                        f"Header {header} of tool {self.tool_name} uses the ElevenLabs secret variable secret__{name}; "
                        "its value cannot be read from ElevenLabs."
                    ),
                    f"Pass --secret {name}=VALUE (or set {secret_env_name(name)}).",
                )
            )
        if missing:
            return None
        self.conv.notes.append(
            Note(
                where,
                "mapped",
                "info",
                (
                    f"Header {header} of tool {self.tool_name}: its secret variables come from --secret at apply time "
                    "and are never shown."
                ),
            )
        )
        return filled

    def _secret(self, name: str, where: str, what: str, value_kind: str = "the value") -> str | None:
        if self.options.has_secret(name):
            self.conv.notes.append(
                Note(
                    where,
                    "mapped",
                    "info",
                    f"{what}; {value_kind} comes from --secret {name} at apply time and is never shown.",
                )
            )
            return secret_ref(name)
        self.conv.notes.append(
            Note(
                where,
                "unmapped",
                "error",
                f"{what}; its value cannot be read from ElevenLabs.",
                f"Pass --secret {name}=VALUE (or set {secret_env_name(name)}) with {value_kind}.",
            )
        )
        return None

    def _literal(self, key: str, value: str, where: str, header: bool = False) -> str | None:
        """A literal header/query value.

        Credential-like ones are kept out of the plan; placeholders are missing secrets.
        """
        name = f"{self.tool_name}.{key}"
        if (header or is_sensitive_name(key)) and value.strip() and is_placeholder_value(value):
            if self.options.has_secret(name):
                return secret_ref(name)
            what = f"Header {key}" if header else f"{key}"
            self.conv.notes.append(
                Note(
                    where,
                    "unmapped",
                    "error",
                    (
                        f"{what} of tool {self.tool_name} holds a placeholder, not a value; it is never sent live as a "
                        "credential."
                    ),
                    f"Pass --secret {name}=VALUE (or set {secret_env_name(name)}) with the real value.",
                )
            )
            return None
        if not is_sensitive_name(key) or not value.strip() or is_template_only(value):
            return value
        if self.options.has_secret(name):
            return secret_ref(name)
        self.conv.literal_secrets[name] = value
        self.conv.notes.append(
            Note(
                where,
                "mapped",
                "info",
                (
                    f"{key} of tool {self.tool_name} holds a literal credential; it is sent to Atoms but never shown "
                    f"(plan: <secret:{name}>)."
                ),
            )
        )
        return secret_ref(name)

    def query(self, req: ToolRequest) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        if req.query is not None:
            self.params_into_query(req.query, req.query_path, out)
        return out

    def params_into_query(self, schema: dict[str, Any], where: str, out: list[dict[str, str]]) -> None:
        required = set(schema.get("required") or [])
        for key, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            value = self._templated(key, prop, f"{where}.properties.{key}", key in required, in_text=True)
            if value is not None:
                out.append({"key": key, "value": value})

    def body(self, schema: dict[str, Any], where: str) -> str:
        template = self._object(schema, "", where)
        text = json.dumps(template, ensure_ascii=False)
        # Unquote the number/boolean/JSON slots: "\u0000RAW:name" -> {{name}}.
        return re.sub(r'"\\u0000RAW:([A-Za-z0-9_.\-]+)"', r"{{\1}}", text)

    def _object(self, schema: dict[str, Any], prefix: str, where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = set(schema.get("required") or [])
        for key, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            p_where = f"{where}.properties.{key}"
            if isinstance(prop.get("properties"), dict) and prop["properties"] and value_source(prop)[0] == "llm":
                out[key] = self._object(prop, f"{prefix}{key}_", p_where)
                self.conv.notes.append(
                    Note(
                        p_where,
                        "mapped",
                        "info",
                        f"Nested object {key}: its fields become parameters named {prefix}{key}_<field>.",
                    )
                )
                continue
            value = self._templated(f"{prefix}{key}", prop, p_where, key in required, in_text=False)
            if value is not None:
                out[key] = value
        return out

    def _templated(self, key: str, prop: dict[str, Any], where: str, required: bool, in_text: bool) -> Any:
        """The value for one property: a constant, a variable template or an LLM parameter slot.

        ``in_text``: the value goes into text (URL path, query), so everything is a string; in
        a JSON body, number, boolean and JSON slots are left unquoted so their types survive.
        """
        source, beaten = value_source(prop)
        if beaten:
            self.conv.notes.append(
                Note(
                    where,
                    "lossy",
                    "warning",
                    f"{key} sets more than one value source ({', '.join(beaten)} besides the one used: {source}); "
                    "ElevenLabs allows exactly one.",
                )
            )
        if source == "omit":
            self.conv.notes.append(Note(where, "ignored", "info", f"{key} is omitted from the request (is_omitted)."))
            return None
        if source == "constant":
            return self._constant(key, prop["constant_value"], where, in_text)
        if source == "variable":
            var = str(prop["dynamic_variable"]).strip()
            renamed = self.rename_variable(var) if var.startswith("system__") else var
            if renamed is None:
                self.conv.notes.append(
                    Note(
                        where,
                        "lossy",
                        "warning",
                        f"{key} takes the system variable {var}, which has no Atoms equivalent; sent as written.",
                    )
                )
                renamed = var
            # Quoted even for numbers: Atoms does not know a variable's type, and an unquoted slot
            # that does not hold a number makes the body invalid JSON (the parity check reports the type).
            return "{{" + renamed + "}}"
        if source == "system":
            self.conv.lossy.append(f"{key} was system-provided")
            self.conv.notes.append(
                Note(
                    where,
                    "lossy",
                    "warning",
                    f"{key} was filled in by ElevenLabs (is_system_provided); on Atoms the LLM is asked for it.",
                )
            )
        name, raw = self._param(key, prop, required, where)
        if in_text or not raw:
            return "{{" + name + "}}"
        if not required:
            # ElevenLabs leaves an optional field out when the LLM gives none; Atoms' template always
            # holds the slot, and an unset variable is sent as written (Atoms §F.4): unquoted, that is
            # not JSON. The parity check fills every slot, so it cannot show this; say it here.
            self.conv.lossy.append(f"optional {key} unquoted in the body")
            self.conv.notes.append(
                Note(
                    where,
                    "lossy",
                    "warning",
                    f"{key} is optional, but Atoms' body template always sends it: if the LLM gives no value, "
                    f"{{{{{name}}}}} stays as written and the body is not valid JSON.",
                    "Make the field required in the source (the LLM then always fills it), or give it a constant.",
                )
            )
        return f"{_RAW}{name}"

    def _constant(self, key: str, value: Any, where: str, in_text: bool) -> Any:
        if isinstance(value, str):
            value, _ = substitute(value, self.options.values)
            literal = self._literal(key, value, where)
            return self.rename_templates(literal or "", where)
        if isinstance(value, (dict, list)):
            value = json.loads(self.rename_templates(json.dumps(value, ensure_ascii=False), where))
            value = self._literal_leaves(key, value, where)
        if in_text:
            return json.dumps(value, ensure_ascii=False)
        return value

    def _literal_leaves(self, key: str, value: Any, where: str) -> Any:
        """The text inside an object or array constant, each leaf judged like a string constant named
        ``key_child`` (``key_0`` in a list): a credential there is kept out of the plan too."""
        if isinstance(value, dict):
            return {k: self._literal_leaves(f"{key}_{k}", v, where) for k, v in value.items()}
        if isinstance(value, list):
            return [self._literal_leaves(f"{key}_{i}", v, where) for i, v in enumerate(value)]
        if isinstance(value, str):
            return self._literal(key, substitute(value, self.options.values)[0], where) or ""
        return value

    def _param(self, key: str, prop: dict[str, Any], required: bool, where: str) -> tuple[str, bool]:
        """Declare an LLM parameter; returns its name and whether its body slot is unquoted."""
        name = unique_name(key, self._param_names)
        kind = _json_type(prop)
        description = self.rename_templates(str(prop.get("description") or "").strip(), where)
        param: dict[str, Any] = {
            "name": name,
            "description": description or f"The {key}.",
            "type": "text",
            "required": bool(required),
        }
        raw = False  # only number and boolean slots are unquoted: Atoms types just those (§D.3)
        enum = prop.get("enum")
        if isinstance(enum, list) and enum:
            param["type"], param["values"] = "enum", [v if isinstance(v, str) else json.dumps(v) for v in enum]
            # Every member a number (or every one a boolean): the slot is unquoted, so 1 stays 1 on the wire.
            raw = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in enum) or all(
                isinstance(v, bool) for v in enum
            )
        elif kind in ("integer", "number"):
            param["type"], raw = "number", True
        elif kind == "boolean":
            param["type"], raw = "boolean", True
        elif kind in ("array", "object"):
            param["description"] = (param["description"] + f" Give it as JSON ({kind}).").strip()
            self.conv.lossy.append(f"{key} ({kind}) sent as a JSON string")
            self.conv.notes.append(
                Note(
                    where,
                    "lossy",
                    "warning",
                    f"{key} is a JSON {kind}; Atoms parameters are text, number, boolean or enum, "
                    "so the LLM writes it as text and the body carries it as a string.",
                    "Make the endpoint accept the value as a JSON string, or flatten it.",
                )
            )
        if not description:
            why = (
                ' (its constant_value "" is read as unset: ElevenLabs exports cannot tell an empty constant from none)'
                if prop.get("constant_value") == ""
                else ""
            )
            self.conv.notes.append(
                Note(where, "lossy", "info", f"{key} has no description; the LLM gets a generic one{why}.")
            )
        self.params.append(param)
        return name, raw

    def response_variables(self, assignments: Any) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for i, a in enumerate(assignments if isinstance(assignments, list) else []):
            if not isinstance(a, dict) or not a.get("dynamic_variable") or not a.get("value_path"):
                self.conv.notes.append(
                    Note(
                        f"assignments[{i}]",
                        "unmapped",
                        "warning",
                        "Response assignment without a variable or path; not migrated.",
                    )
                )
                continue
            path = "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in str(a["value_path"]).split("."))
            out.append({"variableName": str(a["dynamic_variable"]), "jsonPath": path})
        return out


def _json_type(prop: dict[str, Any]) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and isinstance(prop.get("properties"), dict):
        return "object"
    return kind if isinstance(kind, str) else None
