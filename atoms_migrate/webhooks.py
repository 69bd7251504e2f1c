"""ElevenLabs webhook tool -> Atoms ``api_call`` tool (EL §C.3; Atoms §D.3). Pure.

Three source shapes are read: the API shape (``api_schema`` with JSON-schema path, query
and body schemas), the flat shape some repositories keep in ``tool_configs/`` (``url``,
``method``, ``headers``, ``parameters`` at the top level) and the list shape of hand-written
YAML (``webhook: {url, method}`` plus ``parameters: [{name, type, ...}]``).

Rules, each reported where it loses something:

- Every schema property has one value source (EL §C.3): LLM-filled ones become
  ``llmParameters`` and a ``{{name}}`` template where the value goes (URL path, query,
  body); constants are written literally; dynamic variables become ``{{var}}`` with
  ``system__`` names renamed; omitted ones are dropped.
- Path placeholders ``{id}`` become ``{{id}}``. The request body becomes a JSON template
  string: text and enum values are quoted, numbers and booleans are not. Nested objects are
  flattened into parameters named ``parent_child``; arrays and free-form objects become a
  text parameter the LLM fills with JSON, carried in the body as a string (lossy).
- ``--set NAME=VALUE`` substitutes ``${NAME}``, ``<NAME>`` and ``{{NAME}}`` in URLs and
  header values. A URL that still has a placeholder in its host (or any ``${..}``/``<..>``)
  cannot go live: an error naming it.
- Header values that reference a workspace secret, environment variable or auth
  connection cannot be read from ElevenLabs: they become ``<secret:NAME>`` references when
  a value was supplied, else an error naming the ``--secret`` to pass. Literal values of
  credential-like headers or query parameters are kept out of the plan the same way.
- ``response_timeout_secs`` becomes ``timeout`` in milliseconds, clamped to 1000-30000;
  ``assignments`` become ``responseVariables`` with ``$.`` JSON paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from atoms_migrate.model import FindingStatus, Severity
from atoms_migrate.refs import is_sensitive_name, mask_url, secret_env_name, secret_ref

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
BODY_METHODS = ("POST", "PUT", "PATCH")
TIMEOUT_MS = (1000, 30000)  # Atoms §D.3
ELEVENLABS_DEFAULT_TIMEOUT_SECS = 20  # EL §C.3

_PATH_PARAM = re.compile(r"(?<![{$])\{([A-Za-z_][A-Za-z0-9_\-]*)\}(?!\})")
_DOUBLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")
_DOLLAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANGLE = re.compile(r"<([A-Za-z_][A-Za-z0-9_\-]*)>")
_PLACEHOLDER_VALUE = re.compile(r"^(your[_\- ]|redacted$|x{4,}$|changeme|todo\b|<.*>$|\$\{)", re.I)
_RAW = "\x00RAW:"
_CONSUMED_TOP = {"type", "name", "description", "api_schema", "response_timeout_secs", "assignments",
                 "webhook", "parameters", "url", "method", "headers"}
_CONSUMED_SCHEMA = {"url", "method", "path_params_schema", "query_params_schema", "request_body_schema",
                    "request_headers", "content_type", "auth_connection"}

RenameVariable = Callable[[str], "str | None"]


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
class _Request:
    """The source tool in one normalised form, with where each part came from."""

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


def convert_webhook(cfg: dict[str, Any], name: str, rename_variable: RenameVariable, options: ToolOptions) -> Conversion:
    conv = Conversion(tool={})
    req = _normalise(cfg)
    builder = _Builder(name, rename_variable, options, conv)
    description = (cfg.get("description") or "").strip()
    if not description:
        description = f"Call {name}."
        conv.notes.append(Note("description", "lossy", "warning", "The tool has no description; Atoms needs one, so a generic one was written.",
                               "Describe when the agent should call the tool."))
    method = str(req.method or "GET").upper()
    if method not in METHODS:
        conv.notes.append(Note(req.method_path, "unmapped", "error", f"HTTP method {req.method!r} is not supported by Atoms api_call ({', '.join(METHODS)})."))
        method = "GET"
    url = builder.url(req)
    tool: dict[str, Any] = {"type": "api_call", "name": name, "description": description, "url": url, "method": method}
    tool["timeout"] = builder.timeout(cfg.get("response_timeout_secs"))
    headers = builder.headers(req)
    if headers:
        tool["headers"] = headers
    query = builder.query(req)
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
        conv.notes.append(Note("api_schema.content_type", "lossy", "warning",
                               f"Body encoding {req.content_type} is not available on Atoms; the body is sent as JSON.",
                               "Make the endpoint accept JSON."))
    if builder.params:
        tool["llmParameters"] = builder.params
    variables = builder.response_variables(cfg.get("assignments"))
    if variables:
        tool["responseVariables"] = variables
    leftovers = _leftovers(cfg)
    if leftovers:
        conv.notes.append(Note("", "ignored", "info", f"Tool settings with no Atoms api_call equivalent: {', '.join(leftovers)}."))
    conv.tool = tool
    return conv


def _normalise(cfg: dict[str, Any]) -> _Request:
    api = cfg.get("api_schema")
    if isinstance(api, dict):
        query = api.get("query_params_schema") if isinstance(api.get("query_params_schema"), dict) else None
        body = api.get("request_body_schema") if isinstance(api.get("request_body_schema"), dict) else None
        return _Request(
            url=str(api.get("url") or ""), url_path="api_schema.url", method=api.get("method") or "GET", method_path="api_schema.method",
            path_params=api.get("path_params_schema") if isinstance(api.get("path_params_schema"), dict) else {},
            query=query, query_path="api_schema.query_params_schema", body=body, body_path="api_schema.request_body_schema",
            headers=api.get("request_headers") if isinstance(api.get("request_headers"), dict) else {},
            headers_path="api_schema.request_headers", content_type=api.get("content_type"), auth_connection=api.get("auth_connection"),
        )
    hook = cfg.get("webhook") if isinstance(cfg.get("webhook"), dict) else None
    where = "webhook." if hook else ""
    src = hook or cfg
    params = cfg.get("parameters")
    if isinstance(params, list):  # [{name, type, description, required}]
        props = {str(p.get("name")): {k: v for k, v in p.items() if k not in ("name", "required")} for p in params if isinstance(p, dict) and p.get("name")}
        params = {"type": "object", "properties": props, "required": [str(p["name"]) for p in params if isinstance(p, dict) and p.get("required")]}
    return _Request(
        url=str(src.get("url") or ""), url_path=f"{where}url", method=src.get("method") or "GET", method_path=f"{where}method",
        path_params={}, query=None, query_path="parameters", body=params if isinstance(params, dict) else None, body_path="parameters",
        headers=(src.get("headers") if isinstance(src.get("headers"), dict) else {}), headers_path=f"{where}headers",
        content_type=None, auth_connection=None,
    )


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


def unresolved_placeholders(url: str) -> list[str]:
    """Placeholders that keep a URL from working: any ``${N}``/``<N>``/env template, ``{{N}}`` in the host."""
    found = [f"${{{n}}}" for n in _DOLLAR.findall(url)] + [f"<{n}>" for n in _ANGLE.findall(url)]
    found += ["{{" + n + "}}" for n in _DOUBLE.findall(url) if n.startswith("system_env__")]
    rest = url.split("://", 1)[1] if "://" in url else url
    host = rest.split("/", 1)[0]
    found += ["{{" + n + "}}" for n in _DOUBLE.findall(host) if not n.startswith("system_env__")]
    return list(dict.fromkeys(found))


def _placeholder_name(token: str) -> str:
    return token.strip("${}<>").removeprefix("system_env__")


class _Builder:
    def __init__(self, tool_name: str, rename_variable: RenameVariable, options: ToolOptions, conv: Conversion) -> None:
        self.tool_name, self.rename_variable, self.options, self.conv = tool_name, rename_variable, options, conv
        self.params: list[dict[str, Any]] = []
        self._param_names: set[str] = set()

    # -- pieces ------------------------------------------------------------------------------
    def url(self, req: _Request) -> str:
        url, used = substitute(req.url.strip(), self.options.values)
        if used:
            self.conv.notes.append(Note(req.url_path, "mapped", "info", f"Placeholders substituted from --set: {', '.join(sorted(set(used)))}."))

        def path_param(m: re.Match[str]) -> str:
            key = m.group(1)
            prop = req.path_params.get(key)
            where = f"api_schema.path_params_schema.{key}"
            if not isinstance(prop, dict):
                self.conv.lossy.append(f"path parameter {key} has no schema")
                prop, where = {"type": "string", "description": f"The {key} for the request URL."}, req.url_path
            return self._templated(key, prop, where, required=True, quoted=False) or ""

        url = _PATH_PARAM.sub(path_param, url)
        url = self._rename_templates(url, req.url_path)
        shown = mask_url(url)  # credentials in the URL are never shown, not even in a finding
        for token in unresolved_placeholders(url):
            name = _placeholder_name(token)
            self.conv.notes.append(Note(req.url_path, "unmapped", "error",
                                        f"Tool {self.tool_name}: URL {shown} still holds the placeholder {token}, so it cannot go live.",
                                        f"Pass --set {name}=VALUE with the real value."))
        if not unresolved_placeholders(url) and not re.match(r"^https?://[^/\s]+", url):
            self.conv.notes.append(Note(req.url_path, "unmapped", "error", f"Tool {self.tool_name}: URL {shown!r} is not an absolute http(s) URL.",
                                        "Fix the URL in the source, or pass --set for its placeholder."))
        if shown != url:
            # Like a literal credential header: the whole URL becomes a secret reference, sent as it is, never shown.
            name = f"{self.tool_name}.url"
            if not self.options.has_secret(name):
                self.conv.literal_secrets[name] = url
            self.conv.notes.append(Note(req.url_path, "mapped", "info",
                                        f"The URL of tool {self.tool_name} ({shown}) carries a credential; it is sent to Atoms "
                                        f"unchanged but never shown (plan: <secret:{name}>).",
                                        f"Or pass --secret {name}=URL with the URL to use."))
            return secret_ref(name)
        return url

    def _rename_templates(self, text: str, where: str) -> str:
        def swap(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("system__"):
                new = self.rename_variable(name)
                if new is None:
                    self.conv.notes.append(Note(where, "lossy", "warning", f"System variable {name} has no Atoms equivalent; it stays as written."))
                    return m.group(0)
                return "{{" + new + "}}"
            return m.group(0)

        return _DOUBLE.sub(swap, text)

    def timeout(self, secs: Any) -> int:
        if not isinstance(secs, (int, float)) or isinstance(secs, bool):
            return ELEVENLABS_DEFAULT_TIMEOUT_SECS * 1000
        ms = int(round(secs * 1000))
        low, high = TIMEOUT_MS
        clamped = min(max(ms, low), high)
        if clamped != ms:
            self.conv.lossy.append(f"timeout {secs} s clamped to {clamped} ms")
            self.conv.notes.append(Note("response_timeout_secs", "lossy", "warning",
                                        f"Timeout {secs} s is outside Atoms' 1-30 s range; clamped to {clamped // 1000} s."))
        return clamped

    def headers(self, req: _Request) -> dict[str, str]:
        out: dict[str, str] = {}
        for header, value in req.headers.items():
            where = f"{req.headers_path}.{header}"
            if isinstance(value, str):
                value, _ = substitute(value, self.options.values)
                out[header] = self._literal(header, value, where)
            elif isinstance(value, dict) and ("secret_id" in value or "env_var_label" in value):
                name = str(value.get("secret_id") or value.get("env_var_label"))
                kind = "workspace secret" if "secret_id" in value else "environment variable"
                ref = self._secret(name, where, f"Header {header} of tool {self.tool_name} references the ElevenLabs {kind} {name}")
                if ref:
                    out[header] = ref
            elif isinstance(value, dict) and "variable_name" in value:
                var = str(value["variable_name"])
                out[header] = "{{" + (self.rename_variable(var) or var if var.startswith("system__") else var) + "}}"
                self.conv.lossy.append(f"header {header} from a variable")
                self.conv.notes.append(Note(where, "lossy", "warning", f"Header {header} takes the dynamic variable {var}; Atoms documents {{{{var}}}} templates for URL, query and body, not headers.",
                                            "Check on Atoms that the header is filled in."))
            else:
                self.conv.notes.append(Note(where, "unmapped", "warning", f"Header {header} has a value of unknown form; not migrated."))
        auth = req.auth_connection
        if isinstance(auth, dict) and auth:
            name = str(auth.get("auth_connection_id") or auth.get("env_var_label") or "auth_connection")
            ref = self._secret(name, "api_schema.auth_connection",
                               f"Tool {self.tool_name} authenticates with the ElevenLabs auth connection {name}; Atoms api_call has static headers only",
                               "the Authorization header value")
            if ref:
                out.setdefault("Authorization", ref)
        return out

    def _secret(self, name: str, where: str, what: str, value_kind: str = "the value") -> str | None:
        if self.options.has_secret(name):
            self.conv.notes.append(Note(where, "mapped", "info", f"{what}; {value_kind} comes from --secret {name} at apply time and is never shown."))
            return secret_ref(name)
        self.conv.notes.append(Note(where, "unmapped", "error", f"{what}; its value cannot be read from ElevenLabs.",
                                    f"Pass --secret {name}=VALUE (or set {secret_env_name(name)}) with {value_kind}."))
        return None

    def _literal(self, key: str, value: str, where: str) -> str:
        """A literal header/query value; credential-like ones are kept out of the plan."""
        if not is_sensitive_name(key) or not value.strip():
            return value
        name = f"{self.tool_name}.{key}"
        if self.options.has_secret(name):
            return secret_ref(name)
        self.conv.literal_secrets[name] = value
        hint = ""
        if _PLACEHOLDER_VALUE.match(value.strip()):
            hint = f"It looks like a placeholder: pass --secret {name}=VALUE with the real value."
        self.conv.notes.append(Note(where, "lossy" if hint else "mapped", "warning" if hint else "info",
                                    f"{key} of tool {self.tool_name} holds a literal credential; it is sent to Atoms but never shown (plan: <secret:{name}>).", hint))
        return secret_ref(name)

    def query(self, req: _Request) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        if req.query is not None:
            self.params_into_query(req.query, req.query_path, out)
        return out

    def params_into_query(self, schema: dict[str, Any], where: str, out: list[dict[str, str]]) -> None:
        required = set(schema.get("required") or [])
        for key, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            value = self._templated(key, prop, f"{where}.properties.{key}", key in required, quoted=False, flatten_ok=False)
            if value is not None:
                out.append({"key": key, "value": value})

    def body(self, schema: dict[str, Any], where: str) -> str:
        template = self._object(schema, "", where)
        text = json.dumps(template, ensure_ascii=False)
        # Unquote the number/boolean/JSON slots: "\u0000RAW:name" -> {{name}}.
        return re.sub(r'"\\u0000RAW:([A-Za-z0-9_]+)"', r"{{\1}}", text)

    def _object(self, schema: dict[str, Any], prefix: str, where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = set(schema.get("required") or [])
        for key, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            p_where = f"{where}.properties.{key}"
            if prop.get("type") == "object" and isinstance(prop.get("properties"), dict) and prop["properties"] and _value_source(prop) == "llm":
                out[key] = self._object(prop, f"{prefix}{key}_", p_where)
                self.conv.notes.append(Note(p_where, "mapped", "info", f"Nested object {key}: its fields become parameters named {prefix}{key}_<field>."))
                continue
            value = self._templated(f"{prefix}{key}", prop, p_where, key in required, quoted=True)
            if value is not None:
                out[key] = value
        return out

    def _templated(self, key: str, prop: dict[str, Any], where: str, required: bool, quoted: bool, flatten_ok: bool = True) -> Any:
        """The value for one property: a constant, a variable template or an LLM parameter slot."""
        source = _value_source(prop)
        if source == "omit":
            self.conv.notes.append(Note(where, "ignored", "info", f"{key} is omitted from the request (is_omitted)."))
            return None
        if source == "constant":
            value = prop["constant_value"]
            if isinstance(value, str):
                value, _ = substitute(value, self.options.values)
                return self._literal(key, value, where)
            return value if quoted else json.dumps(value) if not isinstance(value, str) else value
        if source == "variable":
            var = str(prop["dynamic_variable"])
            renamed = self.rename_variable(var) if var.startswith("system__") else var
            if renamed is None:
                self.conv.notes.append(Note(where, "lossy", "warning", f"{key} takes the system variable {var}, which has no Atoms equivalent; sent as written."))
                renamed = var
            return "{{" + renamed + "}}"
        if source == "system":
            self.conv.lossy.append(f"{key} was system-provided")
            self.conv.notes.append(Note(where, "lossy", "warning", f"{key} was filled in by ElevenLabs (is_system_provided); on Atoms the LLM is asked for it."))
        name = self._param(key, prop, required, where)
        ptype = next(p["type"] for p in self.params if p["name"] == name)
        raw = ptype in ("number", "boolean")
        if not quoted:
            return "{{" + name + "}}"
        return f"{_RAW}{name}" if raw else "{{" + name + "}}"

    def _param(self, key: str, prop: dict[str, Any], required: bool, where: str) -> str:
        name = re.sub(r"[^A-Za-z0-9_]+", "_", key).strip("_") or "value"
        base, n = name, 2
        while name in self._param_names:
            name, n = f"{base}_{n}", n + 1
        self._param_names.add(name)
        kind = _json_type(prop)
        description = str(prop.get("description") or "").strip()
        param: dict[str, Any] = {"name": name, "description": description or f"The {key}.", "type": "text", "required": bool(required)}
        enum = prop.get("enum")
        if isinstance(enum, list) and enum:
            param["type"], param["values"] = "enum", [str(v) for v in enum]
        elif kind in ("integer", "number"):
            param["type"] = "number"
        elif kind == "boolean":
            param["type"] = "boolean"
        elif kind in ("array", "object"):
            param["description"] = (param["description"] + f" Give it as JSON ({kind}).").strip()
            self.conv.lossy.append(f"{key} ({kind}) sent as a JSON string")
            self.conv.notes.append(Note(where, "lossy", "warning", f"{key} is a JSON {kind}; Atoms parameters are text, number, boolean or enum, "
                                                                   "so the LLM writes it as text and the body carries it as a string.",
                                        "Make the endpoint accept the value as a JSON string, or flatten it."))
        if not description:
            self.conv.notes.append(Note(where, "lossy", "info", f"{key} has no description; the LLM gets a generic one."))
        self.params.append(param)
        return name

    def response_variables(self, assignments: Any) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for i, a in enumerate(assignments if isinstance(assignments, list) else []):
            if not isinstance(a, dict) or not a.get("dynamic_variable") or not a.get("value_path"):
                self.conv.notes.append(Note(f"assignments[{i}]", "unmapped", "warning", "Response assignment without a variable or path; not migrated."))
                continue
            path = "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in str(a["value_path"]).split("."))
            out.append({"variableName": str(a["dynamic_variable"]), "jsonPath": path})
        return out


def _json_type(prop: dict[str, Any]) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _value_source(prop: dict[str, Any]) -> str:
    """Which of EL's value sources applies (EL §C.3: exactly one)."""
    if prop.get("is_omitted"):
        return "omit"
    if "constant_value" in prop and prop["constant_value"] is not None:
        return "constant"
    if prop.get("dynamic_variable"):
        return "variable"
    if prop.get("is_system_provided"):
        return "system"
    return "llm"
