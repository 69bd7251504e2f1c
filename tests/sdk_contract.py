"""The vendor SDK (``smallestai`` 5.14.0) as an independent check of every Atoms request body we send.

The SDK's generated methods are read as syntax (``ast``), not run: each sync ``Raw*Client``
method's ``httpx_client.request(...)`` call gives the HTTP method, the path template and
the ``json={wire name: parameter}`` literal; the method's signature gives each parameter's
type (``Literal`` enums, pydantic models with their wire aliases, required parameters).
``check`` then judges one request body against the method for its endpoint:

- every key is a wire name of that method (or of the nested model), compared explicitly:
  the generated models accept any extra key, so validating through them proves nothing;
- a key outside the SDK is accepted only from ``ALLOWED`` below, each with the reference
  section that documents it;
- enum values are in the SDK's ``Literal`` (Fern types enums as ``Union[Literal, Any]``;
  the ``Literal`` is the documented set, so it is the one checked);
- required parameters and required model fields are present; no value is ``null``.

Requests to endpoints the SDK has no method for are a violation too, so nothing escapes.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import smallestai

SDK_ROOT = Path(smallestai.__file__).parent / "atoms"
# SDK modules holding the Atoms REST endpoints the migrator uses.
RAW_CLIENTS = (
    "agents",
    "agent_versioning_branches",
    "agent_versioning_revisions",
    "agent_versioning_drafts",
    "agent_versioning_versions",
    "knowledge_base",
    "webhooks",
)

# Keys the SDK does not type but the reference documents as accepted: (sdk method, dotted path) -> citation.
ALLOWED: dict[tuple[str, str], str] = {
    ("update_draft", "singlePromptConfig"): "smallest-atoms-api.md §K.1/§C.3: accepted by shape (AgentTools writes "
    "singlePromptConfig.tools through it; [3P] writes the prompt)",
    ("update_draft", "postCallAnalyticsConfig"): "§K.1/§C.3: same shape as GET /agent/{id}; unverified on v2 (§J.3), "
    "so the applier reads it back",
    ("update_draft", "transcriberType"): "§C.3: untyped but accepted ([3P] sends `pulse`)",
    ("create_agent", "synthesizer.voiceConfig.modelId"): "§K.4: the vendor MCP server pins Pro-pool voices with it",
    ("update_draft", "synthesizer.voiceConfig.modelId"): "§K.4",
    ("update_draft_config", "synthesizer.voiceConfig.modelId"): "§K.4",
}
# Values off the SDK's types that the reference documents as an alternative write form
# (mappings/write_forms.yaml), sent only when the read-back proved the typed form is not kept:
# (sdk method, dotted path) -> (accepts the value?, citation).
ALLOWED_VALUES: dict[tuple[str, str], tuple[Any, str]] = {
    ("update_draft", "timezone"): (
        lambda v: isinstance(v, dict) and set(v) == {"label", "offset"},
        "§C.3 [LIVE-CI]: the {label, offset} object was written on a v2 draft and kept",
    ),
    **{
        (m, "synthesizer.voiceConfig.model"): (
            lambda v: v == "waves_lightning_v3_1_pro",
            "§K.4/§J.10: a third party writes the Pro pool as this model",
        )
        for m in ("create_agent", "update_draft", "update_draft_config")
    },
}
# v2 draft fields the SDK types as free objects "same shape as CreateAgentRequest.X" (§K.1): checked
# against the create method's type of the same wire name. The SDK mistypes three of them as objects;
# they are an array, a string and a boolean (§C.3 ⚠), which the create method types correctly.
SAME_SHAPE_AS_CREATE = (
    "synthesizer",
    "language",
    "preCallAPI",
    "smartTurnConfig",
    "voiceDetectionConfig",
    "voiceMailDetectionConfig",
    "denoisingConfig",
    "redactionConfig",
    "pronunciationDicts",
    "llmIdleTimeoutConfig",
    "sessionTimeoutConfig",
    "callDispositionConfig",
    "speechFormatting",
)
# Extras on the v2 draft are checked against the v1 draft-config types of the same name (§K.1:
# "same camelCase shape as GET /agent/{id}"); v2 may send tools without the prompt (§C.7).
V2_EXTRAS_FROM_V1 = ("singlePromptConfig", "postCallAnalyticsConfig", "transcriberType")
V2_PROMPT_OPTIONAL = "§C.7: AgentTools sends singlePromptConfig {tools} alone on v2"


@dataclass(frozen=True)
class Endpoint:
    module: str
    name: str
    http_method: str
    pattern: re.Pattern[str]
    wire: dict[str, str] | None  # wire name -> parameter name; None when the method sends no JSON body
    body_param: str | None = None  # json=<param>: the whole body is one typed parameter

    @property
    def function(self) -> Any:
        mod = importlib.import_module(f"smallestai.atoms.{self.module}.raw_client")
        cls = next(
            v
            for k, v in vars(mod).items()
            if k.startswith("Raw") and not k.startswith("RawAsync") and isinstance(v, type)
        )
        return getattr(cls, self.name)


def _path_regex(node: ast.expr) -> re.Pattern[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.compile(re.escape(node.value))
    if isinstance(node, ast.JoinedStr):
        parts = [re.escape(v.value) if isinstance(v, ast.Constant) else "[^/]+" for v in node.values]
        return re.compile("".join(parts))
    return None


def _param_of(value: ast.expr) -> str | None:
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Call):
        for kw in value.keywords:
            if kw.arg == "object_" and isinstance(kw.value, ast.Name):
                return kw.value.id
    return None


@functools.cache
def endpoints() -> tuple[Endpoint, ...]:
    found = []
    for module in RAW_CLIENTS:
        tree = ast.parse((SDK_ROOT / module / "raw_client.py").read_text())
        for cls in tree.body:
            if not (
                isinstance(cls, ast.ClassDef) and cls.name.startswith("Raw") and not cls.name.startswith("RawAsync")
            ):
                continue
            for fn in cls.body:
                if not isinstance(fn, ast.FunctionDef):
                    continue
                for call in ast.walk(fn):
                    if not (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "request"
                        and call.args
                    ):
                        continue
                    kws = {kw.arg: kw.value for kw in call.keywords}
                    pattern = _path_regex(call.args[0])
                    method = kws.get("method")
                    if pattern is None or not isinstance(method, ast.Constant):
                        continue
                    wire, body_param = None, None
                    body = kws.get("json")
                    if isinstance(body, ast.Dict):
                        wire = {
                            k.value: _param_of(v)
                            for k, v in zip(body.keys, body.values, strict=True)
                            if isinstance(k, ast.Constant)
                        }
                    elif isinstance(body, ast.Name):
                        body_param = body.id
                    found.append(Endpoint(module, fn.name, method.value, pattern, wire, body_param))
    return tuple(found)


def endpoint_for(http_method: str, path: str) -> Endpoint | None:
    """The SDK method for a request path under /atoms/v1 (the longest matching template wins)."""
    rel = path.split("/atoms/v1/", 1)[-1].strip("/")
    matches = [e for e in endpoints() if e.http_method == http_method and e.pattern.fullmatch(rel)]
    return max(matches, key=lambda e: len(e.pattern.pattern), default=None)


@functools.cache
def _hints(fn: Any) -> dict[str, Any]:
    return typing.get_type_hints(fn, include_extras=True)


def _signature(endpoint: Endpoint) -> tuple[dict[str, Any], set[str]]:
    fn = endpoint.function
    params = inspect.signature(fn).parameters
    required = {
        n
        for n, p in params.items()
        if p.default is inspect.Parameter.empty and p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    return _hints(fn), required


def _model_fields(model: type[pydantic.BaseModel]) -> dict[str, tuple[Any, bool]]:
    """wire name -> (type, required) of a Fern model."""
    hints = typing.get_type_hints(model, include_extras=True)
    out = {}
    for name, info in model.model_fields.items():
        ann = hints.get(name, info.annotation)
        alias = info.alias or name
        if typing.get_origin(ann) is typing.Annotated:
            for meta in ann.__metadata__:
                if getattr(meta, "alias", None):
                    alias = meta.alias
            ann = typing.get_args(ann)[0]
        out[alias] = (ann, info.is_required())
    return out


class Checker:
    def __init__(self, method_name: str) -> None:
        self.method_name = method_name
        self.errors: list[str] = []

    def fail(self, where: str, text: str) -> None:
        self.errors.append(f"{self.method_name}: {where or 'body'}: {text}")

    def allowed(self, where: str) -> bool:
        return (self.method_name, where) in ALLOWED

    def value(self, value: Any, ann: Any, where: str, relax: frozenset[str] = frozenset()) -> None:
        if value is None:
            self.fail(where, "null (Atoms rejects nulls on optional fields, §H.11)")
            return
        accepts = ALLOWED_VALUES.get((self.method_name, where), (None, ""))[0]
        if accepts is not None and accepts(value):
            return
        origin, args = typing.get_origin(ann), typing.get_args(ann)
        if origin is typing.Annotated:
            self.value(value, args[0], where, relax)
            return
        if ann is typing.Any or ann is object:
            return
        if origin is typing.Literal:
            if value not in args:
                self.fail(where, f"{value!r} is not one of the SDK's values {list(args)}")
            return
        if origin in (typing.Union, types.UnionType):
            options = [a for a in args if a is not type(None)]
            literals = [a for a in options if typing.get_origin(a) is typing.Literal]
            if literals:  # Fern's forward-compatible enum: Union[Literal[...], Any]; the Literal is the contract
                allowed = [v for lit in literals for v in typing.get_args(lit)]
                if value not in allowed:
                    self.fail(where, f"{value!r} is not one of the SDK's values {allowed}")
                return
            trials = []
            for option in options:
                sub = Checker(self.method_name)
                sub.value(value, option, where, relax)
                if not sub.errors:
                    return
                trials.append(sub.errors)
            self.errors.extend(min(trials, key=len) if trials else [])
            return
        if origin in (list, list, typing.Sequence, tuple) or (origin and origin.__name__ in ("Sequence", "List")):
            if not isinstance(value, list):
                self.fail(where, f"expected an array, got {type(value).__name__}")
                return
            for i, item in enumerate(value):
                self.value(item, args[0] if args else typing.Any, f"{where}[{i}]", relax)
            return
        if origin in (dict, dict) or ann is dict:
            if not isinstance(value, dict):
                self.fail(where, f"expected an object, got {type(value).__name__}")
                return
            if args and args[1] is not typing.Any:
                for k, v in value.items():
                    self.value(v, args[1], f"{where}.{k}", relax)
            return
        if isinstance(ann, type) and issubclass(ann, pydantic.BaseModel):
            self.model(value, ann, where, relax)
            return
        if ann is bool:
            if not isinstance(value, bool):
                self.fail(where, f"expected a boolean, got {value!r}")
        elif ann in (int, float):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (ann is int and not isinstance(value, int))
            ):
                self.fail(where, f"expected a {ann.__name__}, got {value!r}")
        elif ann is str:
            if not isinstance(value, str):
                self.fail(where, f"expected a string, got {value!r}")

    def model(
        self, value: Any, model: type[pydantic.BaseModel], where: str, relax: frozenset[str] = frozenset()
    ) -> None:
        if not isinstance(value, dict):
            self.fail(where, f"expected an object ({model.__name__}), got {type(value).__name__}")
            return
        fields = _model_fields(model)
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            if key not in fields:
                if not self.allowed(path):
                    self.fail(path, f"not a field of the SDK's {model.__name__} (wire names: {sorted(fields)})")
                continue
            self.value(item, fields[key][0], path, relax)
        for key, (_, required) in fields.items():
            path = f"{where}.{key}" if where else key
            if required and key not in value and path not in relax:
                self.fail(path, f"required by the SDK's {model.__name__}")


def _v1_types() -> dict[str, Any]:
    ep = next(e for e in endpoints() if e.name == "update_draft_config")
    hints, _ = _signature(ep)
    return {wire: hints[param] for wire, param in (ep.wire or {}).items() if param in hints}


def _create_types() -> dict[str, Any]:
    ep = next(e for e in endpoints() if e.name == "create_agent")
    hints, _ = _signature(ep)
    return {wire: hints[param] for wire, param in (ep.wire or {}).items() if param in hints}


def check(http_method: str, path: str, body: Any) -> list[str]:
    """Violations of the SDK contract by one request (an empty list when it conforms)."""
    endpoint = endpoint_for(http_method, path)
    if endpoint is None:
        return [f"{http_method} {path}: no method of the vendor SDK serves this endpoint"]
    checker = Checker(endpoint.name)
    if endpoint.wire is None and endpoint.body_param is None:
        if body is not None:  # §K.1: e.g. make-live takes no body at all, not even {}
            checker.fail("", f"the SDK's {endpoint.name} sends no body; we sent {body!r}")
        return checker.errors
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return [f"{endpoint.name}: body is not a JSON object"]
    hints, required = _signature(endpoint)
    if endpoint.body_param:
        checker.value(body, hints[endpoint.body_param], "")
        return checker.errors
    wire = endpoint.wire or {}
    by_param = {p: w for w, p in wire.items()}
    for param in required:
        if param in by_param and by_param[param] not in body:
            checker.fail(by_param[param], "required by the SDK")
    for key, value in body.items():
        if key in wire:
            ann = hints.get(wire[key], typing.Any)
            if endpoint.name == "update_draft" and key in SAME_SHAPE_AS_CREATE:
                ann = _create_types().get(key, ann)
            checker.value(value, ann, key)
        elif checker.allowed(key):
            if endpoint.name == "update_draft" and key in V2_EXTRAS_FROM_V1:
                checker.value(value, _v1_types()[key], key, relax=frozenset({"singlePromptConfig.prompt"}))
            else:
                checker.value(value, typing.Any, key)
        else:
            checker.fail(key, f"not a parameter of the SDK's {endpoint.name} (wire names: {sorted(wire)})")
    return checker.errors
