"""Read one parsed source file for ElevenLabs conversation code, by syntax (ast-grep).

``analyze`` takes a file's text and language and returns ``Hit``s (rule id + exact span) and
the raw WebSocket clients it holds. Context is resolved structurally, never by a word alone:

- SDK surfaces by binding: names imported from an ElevenLabs SDK module are followed to the
  object their call returns (``useConversation()``, ``Conversation.startSession()``, Python
  ``Conversation(...)``), and that object's members are found within its scope only, so a
  component's own ``isSpeaking`` state is not ElevenLabs code.
- Protocol names count only in a file holding a WebSocket whose URL resolves (through
  variables, templates, ``new URL``) to the convai endpoint or a signed URL, and only where they
  are used as protocol: compared with a message's ``type``, the ``type`` of an object literal,
  a key of it, or a field read of a message.
- ``xi-api-key`` counts only in the headers of a request or socket whose URL is a convai
  endpoint; TTS, STT and voices calls give one ``info`` hit for the whole file.
- HTML is parsed as HTML; its ``<script>`` blocks (and those of Vue and Svelte files) as JS/TS.

The vocabulary comes from ``mappings/scan.yaml`` (``Vocabulary``). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ast_grep_py import SgNode, SgRoot

from atoms_migrate.mapping.tables import SCAN_REGEX_MATCHERS, ScanTable

OTHER_API_RULE = "EL-OTHER-API"
_QUOTES = re.compile(r"""^[rRbBuUfF]{0,3}("{3}|'{3}|["'`])(.*)\1$""", re.DOTALL)
_TYPEISH = re.compile(r"(?:^|[._])type$|Type$", re.IGNORECASE)
_PROSE = re.compile(r"\s")
_VOICE_ID = re.compile(r"[0-9A-Za-z]{20}")  # elevenlabs-convai-api.md §1
_AGENT_ID_NAME = re.compile(r"(?:^|[_.-])agent[_-]?id$|^agentId$|AgentId$", re.IGNORECASE)
_SIGNED = re.compile(r"signed[-_]?url|conversation_signature", re.IGNORECASE)
_WS_URL = re.compile(
    r"wss://api(?:\.us|\.eu\.residency|\.in\.residency|\.sg\.residency)?\.elevenlabs\.io/v1/convai/conversation(?![/\w-])"
)
_CONVAI = re.compile(r"/v1/convai/|wss://[\w.]*elevenlabs\.io")
_MARKUP_ATTR = re.compile(r"""<[\w:-]+\s[^<>]*?\b[\w:-]+=["']((?:wss?|https?)://[^"'\s]+)["']""")
_AGENT_QUERY = re.compile(r"[?&]agent_id=")
_CONVAI_HOSTLESS = re.compile(r"^(?:wss?|https?)://(?!\{)")  # a URL with a written host is judged by that host
_JS_REQUEST = re.compile(
    r"^(?:fetch|axios|got|ky|ofetch|\$fetch|request|superagent|needle)$|\.(?:get|post|put|patch|delete|request|fetch|head)$"
)
_PY_REQUEST = re.compile(r"(?:^|\.)(?:get|post|put|patch|delete|request|head|stream|Request|urlopen)$")
_PY_SOCKET = re.compile(r"(?:^|\.)(?:connect|ws_connect|create_connection|WebSocketApp)$")
_JS_SOCKET = {"WebSocket", "ReconnectingWebSocket", "W3CWebSocket"}
_FUNCTIONS_JS = {
    "function_declaration",
    "function_expression",
    "arrow_function",
    "method_definition",
    "generator_function_declaration",
}
_FUNCTIONS_PY = {"function_definition", "class_definition"}


@dataclass(frozen=True)
class Hit:
    rule_id: str
    start: int  # character offsets in the whole file
    end: int
    text: str
    kept: bool = False  # inside a kept ElevenLabs widget or SDK call: never rewritten
    detail: str = ""


@dataclass
class Socket:
    """A raw WebSocket client of the convai endpoint (guide §6 Node/browser, §7 Python)."""

    language: str  # "js" or "py"
    call_start: int
    call_end: int
    url_literals: list[tuple[int, int, str]]  # the string literals the URL is made of (start, end, text)
    url_text: str  # the URL as resolved (unresolved parts as {name})
    signed: bool  # comes from a signed URL: the port needs the server too
    ws_from: str  # "ws" (Node package: headers), "global" (browser/Node global: no headers), "websockets", other
    options: tuple[int, int, str] | None  # JS: the options object; Python: the argument list
    header_pairs: list[tuple[int, int, str]] = field(default_factory=list)  # xi-api-key pairs in its options
    headers_kwarg: str | None = None  # Python: additional_headers / extra_headers
    agent_refs: list[str] = field(default_factory=list)  # names interpolated as agent_id
    arguments: int = 1  # how many arguments the constructor or call was given


@dataclass
class Analysis:
    hits: list[Hit] = field(default_factory=list)
    sockets: list[Socket] = field(default_factory=list)
    protocol: list[tuple[Hit, SgNode, int]] = field(default_factory=list)  # protocol hits with their node and offset
    agent_literals: dict[str, list[tuple[int, int]]] = field(
        default_factory=dict
    )  # name -> spans of its declaration literal
    roots: list[tuple[SgNode, int, str]] = field(
        default_factory=list
    )  # parsed code roots (node, offset, ast-grep language)
    other_api_at: int | None = None  # where the file first uses another ElevenLabs API

    @property
    def other_api(self) -> bool:
        return self.other_api_at is not None

    def saw_other_api(self, start: int) -> None:
        if self.other_api_at is None or start < self.other_api_at:
            self.other_api_at = start


class Vocabulary:
    """scan.yaml as lookup tables: matcher -> name -> rule id, and compiled regexes."""

    def __init__(self, table: ScanTable) -> None:
        self.names: dict[str, dict[str, str]] = {}
        self.regexes: dict[str, list[tuple[re.Pattern[str], str]]] = {m: [] for m in SCAN_REGEX_MATCHERS}
        for rule in table.rules:
            for matcher, values in rule.match.model_dump().items():
                for value in values:
                    if matcher in SCAN_REGEX_MATCHERS:
                        self.regexes[matcher].append((re.compile(value), rule.id))
                    else:
                        self.names.setdefault(matcher, {})[value] = rule.id
        self.other_literal = re.compile(table.other_api.literal)
        self.other_rest = re.compile(table.other_api.sdk_rest)
        self.agent_id = re.compile(table.agent_id)
        self.sdk_modules = {m for m, rid in self.names.get("module", {}).items() if not rid.startswith("EL-WIDGET")}

    def name(self, matcher: str, value: str) -> str | None:
        return self.names.get(matcher, {}).get(value)


def literal_content(text: str) -> str:
    m = _QUOTES.match(text)
    return m.group(2) if m else text


def _field_text(node: SgNode, name: str) -> str | None:
    """The text of ``node``'s field ``name``, or None when it has no such field."""
    child = node.field(name)
    return child.text() if child is not None else None


def _span(node: SgNode, offset: int) -> tuple[int, int]:
    r = node.range()
    return r.start.index + offset, r.end.index + offset


class _Code:
    """Shared walk over one JS/TS or Python tree; subclasses know the node kinds."""

    lang = ""
    string_kinds: tuple[str, ...] = ()
    functions: set[str] = set()

    def __init__(self, root: SgNode, offset: int, vocab: Vocabulary, out: Analysis, grammar: str) -> None:
        self.root, self.offset, self.v, self.out, self.grammar = root, offset, vocab, out, grammar
        self.decls: dict[str, list[SgNode]] = {}
        self.sdk_names: dict[str, str] = {}  # local name -> imported name, from SDK modules
        self.agent_ranges: list[tuple[int, int]] = []  # SDK calls, convai requests, sent messages
        self.kept_ranges: list[tuple[int, int]] = []  # SDK calls and widgets: ids there are never rewritten
        self.pending_voice: list[tuple[SgNode, str]] = []
        self.pending_env: list[SgNode] = []
        self.pending_agent_ids: list[SgNode] = []
        self.seen: set[tuple[str, int]] = set()
        self.socket_names: set[str] = set()  # what convai sockets are bound to (`const ws = new WebSocket(…)`)
        self.other_sockets: set[str] = set()  # what sockets to other URLs are bound to
        # message handlers of, and messages sent to, sockets of another protocol and convai ones (they nest in a bridge)
        self.other_handlers: list[tuple[int, int]] = []
        self.other_sends: list[tuple[int, int]] = []
        self.convai_handlers: list[tuple[int, int]] = []
        self.convai_sends: list[tuple[int, int]] = []

    # --- helpers ---------------------------------------------------------------------------
    def hit(self, rule_id: str | None, node: SgNode, detail: str = "") -> Hit | None:
        if rule_id is None:
            return None
        start, end = _span(node, self.offset)
        if (rule_id, start) in self.seen:
            return None
        self.seen.add((rule_id, start))
        h = Hit(rule_id, start, end, node.text(), detail=detail)
        self.out.hits.append(h)
        return h

    def scope_of(self, node: SgNode) -> SgNode:
        for a in node.ancestors():
            if a.kind() in self.functions:
                return a
        return self.root

    def inside(self, node: SgNode, ranges: list[tuple[int, int]]) -> bool:
        start, end = _span(node, self.offset)
        return any(a <= start and end <= b for a, b in ranges)

    def resolve(
        self, node: SgNode | None, depth: int = 0, literals: list[SgNode] | None = None, names: list[str] | None = None
    ) -> str:
        """The text a URL-ish expression stands for, following variables a few steps."""
        if node is None or depth > 4:
            return ""
        literals = literals if literals is not None else []
        names = names if names is not None else []
        kind = node.kind()
        if kind in self.string_kinds:
            literals.append(node)
            parts = []
            for child in node.children():
                ck = child.kind()
                if ck in ("template_substitution", "interpolation"):
                    inner = child.named_children()
                    parts.append(self.resolve(inner[0], depth + 1, literals, names) if inner else "")
                elif ck in ("string_fragment", "string_content", "escape_sequence"):
                    parts.append(child.text())
            return "".join(parts) if parts else literal_content(node.text())
        if kind in ("identifier", "member_expression", "attribute"):
            key = node.text()
            if key in self.decls and depth < 4:
                names.append(key)
                return "".join(self.resolve(v, depth + 1, literals, names) for v in self.decls[key][-1:])
            names.append(key)
            return "{" + key + "}"
        if kind in (
            "binary_expression",
            "binary_operator",
            "concatenated_string",
            "parenthesized_expression",
            "await_expression",
            "await",
            "arguments",
            "argument_list",
        ):
            return "".join(self.resolve(c, depth + 1, literals, names) for c in node.named_children())
        if kind in ("new_expression", "call_expression", "call"):
            callee = node.field("constructor") or node.field("function")
            args = node.field("arguments")
            first = args.named_children()[0] if args and args.named_children() else None
            ctext = callee.text() if callee else ""
            if (
                ctext.endswith(("toString", "toString()"))
                and callee is not None
                and callee.kind() in ("member_expression", "attribute")
            ):
                return self.resolve(callee.field("object"), depth + 1, literals, names)
            if ctext.endswith(".format") and callee is not None:
                return self.resolve(callee.field("object"), depth + 1, literals, names)
            return ctext + "(" + self.resolve(first, depth + 1, literals, names) + ")"
        names.append(node.text())
        return "{" + node.text() + "}"  # a value known only at run time

    # --- the walk --------------------------------------------------------------------------
    def run(self) -> None:
        self.collect_decls()
        self.literals()
        self.imports()
        self.sdk()
        self.sdk_rest()
        self.requests_and_sockets()
        if any(s.language == self.lang for s in self.out.sockets):
            self.protocol()
        for node, rule_id in self.pending_voice:
            if self.inside(node, self.agent_ranges):
                self.hit(rule_id, node)
        self.out.roots.append((self.root, self.offset, self.grammar))

    def literals(self) -> None:
        for node in find_kinds(self.root, self.grammar, *self.string_kinds):
            content = _own_text(node)
            if _PROSE.search(content.strip()):  # a docstring or a message that names an endpoint is not a request,
                content = " ".join(
                    _MARKUP_ATTR.findall(content)
                )  # but markup's attributes are (TwiML's <Stream url="…">)
                if not content:
                    continue
            for regex, rule_id in self.v.regexes["literal"]:
                if regex.search(content):
                    self.hit(rule_id, node)
            if self.v.other_literal.search(content):
                self.out.saw_other_api(_span(node, self.offset)[0])
            if content in self.v.names.get("env", {}):
                self.pending_env.append(node)

    def sdk_rest(self) -> None:
        kind = "member_expression" if self.lang == "js" else "attribute"
        for node in self.root.find_all(kind=kind):
            text = node.text()
            if "." not in text:
                continue
            for regex, rule_id in self.v.regexes["sdk_rest"]:
                if regex.search(text):
                    self.hit(rule_id, node.field("property") or node.field("attribute") or node)
            if self.v.other_rest.search(text) and re.search(r"elevenlabs|client|eleven", text, re.IGNORECASE):
                self.out.saw_other_api(_span(node, self.offset)[0])

    def _other_api(self, url: str, literals: list[SgNode], call: SgNode) -> None:
        """A request to TTS, STT, voices...: the file's info line points at its URL."""
        if self.v.other_literal.search(url):
            self.out.saw_other_api(_span(literals[0] if literals else call, self.offset)[0])

    def _classify(
        self, url: str, names: list[str], literals: list[SgNode], is_socket: bool, reach: list[SgNode] | None = None
    ) -> tuple[bool, bool]:
        """(signed, convai) for a request or socket URL.

        A socket URL known only at run time (a parameter, a function's result) counts as the
        convai one when the file itself fetches a signed URL or names the convai endpoint, or
        when its host comes from the environment but it sends ElevenLabs' own auth header and an
        ``agent_id`` (``f"{BASE_URI}?agent_id={AGENT_ID}"`` with ``xi-api-key``: no other
        ElevenLabs socket takes an agent id).
        """
        signed = bool(_SIGNED.search(url) or any(_SIGNED.search(n) for n in names))
        convai = bool(_CONVAI.search(url)) or (is_socket and signed)
        if is_socket and not convai and _AGENT_QUERY.search(url) and not _CONVAI_HOSTLESS.search(url):
            convai = self._el_auth(reach or [])
            if convai and literals:  # the URL is the convai one, its host set elsewhere (an env var)
                self.hit("EL-WS-URL", literals[0])
        if is_socket and not convai and not literals:
            evidence = {h.rule_id for h in self.out.hits} & {"EL-SIGNED-URL", "EL-WS-URL"}
            convai, signed = bool(evidence), "EL-SIGNED-URL" in evidence
        return signed, convai

    def _el_auth(self, reach: list[SgNode]) -> bool:
        """Whether these headers send ElevenLabs' own API key header."""
        return any(
            (key := _field_text(pair, "key")) is not None
            and self.v.name("header", literal_content(key).lower()) == "EL-XI-API-KEY"
            for node in reach
            for pair in ([node] if node.kind() == "pair" else node.find_all(kind="pair"))
        )

    def sdk_code(self, node: SgNode) -> None:
        """An SDK call or element: agent code, and ids inside it are kept until the user replaces it."""
        span = _span(node, self.offset)
        self.agent_ranges.append(span)
        self.kept_ranges.append(span)

    def collect_voices(self, *kinds: str) -> None:
        """Voice-id-shaped values of voice keys; they count only inside agent code (checked after the walk)."""
        keys = self.v.names.get("voice_key", {})
        for pair in find_kinds(self.root, self.grammar, *kinds):
            key, value = pair.field("key") or pair.field("name"), pair.field("value")
            if (
                key is not None
                and value is not None
                and value.kind() == "string"
                and literal_content(key.text()) in keys
                and _VOICE_ID.fullmatch(literal_content(value.text()))
            ):
                self.pending_voice.append((value, keys[literal_content(key.text())]))

    def collect_legacy_agent_ids(self, *kinds: str) -> None:
        """Agent ids in the legacy 20-character form (no `agent_` prefix; the shape of a voice id, so
        never by their look alone): the value given to a key, keyword or variable named for the
        agent id (agentId, agent_id, ELEVENLABS_AGENT_ID). They count in files holding agent code."""
        for node in find_kinds(self.root, self.grammar, *kinds):
            name = (
                node.field("key")
                or node.field("name")
                or node.field("left")
                or (node.child(0) if node.kind() == "jsx_attribute" else None)
            )
            value = (
                node.field("value")
                or node.field("right")
                or (node.child(2) if node.kind() == "jsx_attribute" else None)
            )
            if (
                name is not None
                and value is not None
                and value.kind() == "string"
                and _AGENT_ID_NAME.search(literal_content(name.text()))
                and _VOICE_ID.fullmatch(literal_content(value.text()))
            ):
                self.pending_agent_ids.append(value)

    def _typeish_name(self, node: SgNode) -> bool:
        """A variable named like a type (message_type), or holding a message's type."""
        if _TYPEISH.search(node.text()):
            return True
        values = self.decls.get(node.text(), [])
        return bool(values) and values[-1].kind() != "identifier" and self._typeish(values[-1])

    def _typeish(self, node: SgNode) -> bool:
        raise NotImplementedError

    # protocol uses, in a file holding a convai WebSocket
    def _other_side(self, node: SgNode, sent: bool) -> bool:
        """Whether a protocol name belongs to another socket of the file (a bridge's caller side): a
        message sent to it, or a name read or compared in its message handler."""
        if sent and self.inside(node, self.other_sends) and not self.inside(node, self.convai_sends):
            return True
        return self.inside(node, self.other_handlers) and not self.inside(
            node, self.convai_handlers + self.convai_sends
        )

    def _protocol_hit(self, rule_id: str | None, node: SgNode, expr: SgNode, sent: bool = False) -> bool:
        if self._other_side(node, sent):
            return False
        h = self.hit(rule_id, node)
        if h:
            self.out.protocol.append((h, expr, self.offset))
        return h is not None

    def _message(self, obj: SgNode, pairs: list[tuple[SgNode, SgNode | None]]) -> None:
        """An object literal: its ``type`` value and its keys name the messages sent."""
        sent = False
        for key, value in pairs:
            name = literal_content(key.text())
            if name == "type" and value is not None and value.kind() == "string":
                sent |= self._protocol_hit(
                    self.v.name("message_type", literal_content(value.text())), value, value, sent=True
                )
            sent |= self._protocol_hit(self.v.name("message_key", name), key, key, sent=True)
        if sent:
            self.agent_ranges.append(_span(obj, self.offset))

    def _event_name(self, value: SgNode) -> None:
        """A string compared with a message's type."""
        name = literal_content(value.text())
        self._protocol_hit(self.v.name("event_type", name) or self.v.name("message_type", name), value, value)

    def _field(self, name: str, node: SgNode, expr: SgNode) -> None:
        self._protocol_hit(self.v.name("event_field", name), node, expr)

    # subclass hooks
    def collect_decls(self) -> None: ...
    def imports(self) -> None: ...
    def sdk(self) -> None: ...
    def requests_and_sockets(self) -> None: ...
    def protocol(self) -> None: ...


class _JS(_Code):
    lang = "js"
    string_kinds = ("string", "template_string")
    functions = _FUNCTIONS_JS
    ws_names: frozenset[str] | set[str] = frozenset()  # local names of the Node `ws` WebSocket class

    def collect_decls(self) -> None:
        for d in self.root.find_all(kind="variable_declarator"):
            name, value = d.field("name"), d.field("value")
            if name is not None and value is not None and name.kind() == "identifier":
                self.decls.setdefault(name.text(), []).append(value)
        for a in self.root.find_all(kind="assignment_expression"):
            left, right = a.field("left"), a.field("right")
            if left is not None and right is not None:
                self.decls.setdefault(left.text(), []).append(right)

    def imports(self) -> None:
        self.ws_names: set[str] = set()
        for imp in self.root.find_all(kind="import_statement"):
            source = imp.field("source")
            if source is None:
                continue
            module = literal_content(source.text())
            self.hit(self.v.name("module", module), source)
            names = self._import_names(imp)
            if module in self.v.sdk_modules:
                self.sdk_names.update(names)
            if module in ("ws", "isomorphic-ws"):
                self.ws_names.update(_ws_clients(names))
        for call in self.root.find_all(kind="call_expression"):
            fn = call.field("function")
            if fn is None or fn.kind() not in ("identifier", "import") or fn.text() not in ("require", "import"):
                continue
            args = call.field("arguments")
            first = args.named_children()[0] if args and args.named_children() else None
            if first is None or first.kind() != "string":
                continue
            module = literal_content(first.text())
            self.hit(self.v.name("module", module), first)
            names = {}
            parent = call.parent()
            while parent is not None and parent.kind() in ("await_expression", "member_expression"):
                parent = parent.parent()
            if parent is not None and parent.kind() == "variable_declarator":
                pattern = parent.field("name")
                if pattern is not None and pattern.kind() == "identifier":
                    names[pattern.text()] = "*"
                elif pattern is not None:
                    for p in pattern.find_all(kind="shorthand_property_identifier_pattern"):
                        names[p.text()] = p.text()
                    for p in pattern.find_all(kind="pair_pattern"):
                        key, value = p.field("key"), p.field("value")
                        if key is not None and value is not None:
                            names[value.text()] = key.text()
            if module in self.v.sdk_modules:
                self.sdk_names.update(names)
            if module in ("ws", "isomorphic-ws"):
                self.ws_names.update(_ws_clients(names))

    @staticmethod
    def _import_names(imp: SgNode) -> dict[str, str]:
        names: dict[str, str] = {}
        clause = next((c for c in imp.children() if c.kind() == "import_clause"), None)
        if clause is None:
            return names
        for child in clause.children():
            if child.kind() == "identifier":
                names[child.text()] = "default"
            elif child.kind() == "namespace_import":
                ident = child.find(kind="identifier")
                if ident is not None:
                    names[ident.text()] = "*"
            elif child.kind() == "named_imports":
                for spec in child.find_all(kind="import_specifier"):
                    name, alias = spec.field("name"), spec.field("alias")
                    if name is not None:
                        names[(alias or name).text()] = name.text()
        return names

    def sdk(self) -> None:
        if not self.sdk_names:
            return
        locals_ = set(self.sdk_names)
        for ident in self.root.find_all(kind="identifier"):
            local = ident.text()
            if local not in locals_:
                continue
            parent = ident.parent()
            if parent is None or parent.kind() in ("import_specifier", "import_clause", "namespace_import"):
                continue
            imported = self.sdk_names[local]
            if (
                parent.kind() == "member_expression"
                and parent.field("object") is not None
                and _same(parent.field("object"), ident)
            ):
                prop = parent.field("property")
                dotted = f"{imported}.{prop.text()}" if prop is not None else imported
                rule = self.v.name("sdk_symbol", dotted)
                if rule and prop is not None:
                    self.hit(rule, prop)
                    call = parent.parent()
                    if call is not None and call.kind() == "call_expression":
                        self._sdk_call(call)
                continue
            if parent.kind() == "call_expression" and _same(parent.field("function"), ident):
                self.hit(self.v.name("sdk_symbol", imported), ident)
                self._sdk_call(parent)
            elif parent.kind() in ("jsx_opening_element", "jsx_self_closing_element"):
                self.hit(self.v.name("sdk_symbol", imported), ident)
                self.sdk_code(parent)
                for attr in parent.find_all(kind="jsx_attribute"):
                    name = attr.child(0)
                    if name is not None:
                        self.hit(self.v.name("sdk_option", name.text()), name)

    def _sdk_call(self, call: SgNode) -> None:
        """An SDK call: its options, and the object it returns, followed in its scope."""
        self.sdk_code(call)
        args = call.field("arguments")
        if args is not None:
            self._options(args)
        holder = call.parent()
        while holder is not None and holder.kind() in ("await_expression", "parenthesized_expression"):
            holder = holder.parent()
        if holder is None:
            return
        if holder.kind() == "variable_declarator":
            target = holder.field("name")
            scope = self.scope_of(holder)
        elif holder.kind() == "assignment_expression":
            target = holder.field("left")
            scope = self.root
        else:
            return
        if target is None:
            return
        if target.kind() in ("identifier", "member_expression"):
            self._members(target.text(), scope)
            if target.kind() == "identifier":
                self._held(target.text(), scope)
        elif target.kind() == "object_pattern":
            self._pattern(target, scope)

    def _held(self, binding: str, scope: SgNode) -> None:
        """Where the SDK object is kept for later: React state (`setConversation(conv)` of
        `const [conversation, setConversation] = useState()`) or a ref (`convRef.current = conv`)."""
        setters = set()
        for call in scope.find_all(kind="call_expression"):
            fn, args = call.field("function"), call.field("arguments")
            passed = args.named_children() if args is not None else []
            if fn is not None and fn.kind() == "identifier" and len(passed) == 1 and passed[0].text() == binding:
                setters.add(fn.text())
        for d in self.root.find_all(kind="variable_declarator"):
            name = d.field("name")
            held = name.named_children() if name is not None and name.kind() == "array_pattern" else []
            if len(held) == 2 and held[1].text() in setters and held[0].kind() == "identifier":
                self._members(held[0].text(), self.scope_of(d))
        for a in scope.find_all(kind="assignment_expression"):
            left, right = a.field("left"), a.field("right")
            if (
                left is not None
                and right is not None
                and right.text() == binding
                and left.kind() == "member_expression"
            ):
                self._members(left.text(), self.root)

    def _options(self, args: SgNode) -> None:
        for obj in args.named_children():
            if obj.kind() != "object":
                continue
            for child in obj.named_children():
                key = (
                    child.field("key")
                    if child.kind() in ("pair", "method_definition")
                    else (child if child.kind() == "shorthand_property_identifier" else None)
                )
                if key is None:
                    continue
                self.hit(self.v.name("sdk_option", literal_content(key.text())), key)

    def _pattern(self, pattern: SgNode, scope: SgNode) -> None:
        """Members destructured from an SDK object: found where they are named and wherever used."""
        for p in pattern.find_all(kind="shorthand_property_identifier_pattern"):
            self.hit(self.v.name("sdk_member", p.text()), p)
            self._destructured(p.text(), p.text(), scope, pattern)
        for p in pattern.find_all(kind="pair_pattern"):
            key, value = p.field("key"), p.field("value")
            if key is not None and value is not None and value.kind() == "identifier":
                self.hit(self.v.name("sdk_member", key.text()), key)
                self._destructured(key.text(), value.text(), scope, pattern)

    def _members(self, binding: str, scope: SgNode) -> None:
        for d in scope.find_all(kind="variable_declarator"):  # const { status, isSpeaking } = conversation
            name, value = d.field("name"), d.field("value")
            if name is not None and value is not None and name.kind() == "object_pattern" and value.text() == binding:
                self._pattern(name, self.scope_of(d))
        for m in scope.find_all(kind="member_expression"):
            obj, prop = m.field("object"), m.field("property")
            if obj is None or prop is None or obj.text() != binding:
                continue
            rule = self.v.name("sdk_member", prop.text())
            if rule:
                self.hit(rule, prop)
            call = m.parent()
            if prop.text() == "startSession" and call is not None and call.kind() == "call_expression":
                self.sdk_code(call)
                args = call.field("arguments")
                if args is not None:
                    self._options(args)

    def _destructured(self, member: str, local: str, scope: SgNode, pattern: SgNode) -> None:
        rule = self.v.name("sdk_member", member)
        if not rule:
            return
        pstart, pend = _span(pattern, self.offset)
        for ident in find_kinds(scope, self.grammar, "identifier", "shorthand_property_identifier"):
            if ident.text() != local:
                continue
            start, _ = _span(ident, self.offset)
            if pstart <= start < pend:
                continue
            parent = ident.parent()
            if parent is not None and parent.kind() == "member_expression" and not _same(parent.field("object"), ident):
                continue
            self.hit(rule, ident)
            if member == "startSession" and parent is not None and parent.kind() == "call_expression":
                self.sdk_code(parent)
                args = parent.field("arguments")
                if args is not None:
                    self._options(args)

    def requests_and_sockets(self) -> None:
        for node in find_kinds(self.root, self.grammar, "call_expression", "new_expression"):
            callee = node.field("constructor") if node.kind() == "new_expression" else node.field("function")
            if callee is None:
                continue
            ctext = callee.text()
            is_socket = node.kind() == "new_expression" and (ctext in _JS_SOCKET or ctext in self.ws_names)
            if not is_socket and not _JS_REQUEST.search(ctext):
                continue
            args = node.field("arguments")
            positional = args.named_children() if args is not None else []
            if not positional:
                continue
            literals: list[SgNode] = []
            names: list[str] = []
            url = self.resolve(positional[0], 0, literals, names)
            options = (
                positional[1] if len(positional) > 1 else (positional[0] if positional[0].kind() == "object" else None)
            )
            if options is not None and options.kind() == "object" and not url:
                url_pair = next(
                    (p for p in options.named_children() if p.kind() == "pair" and _field_text(p, "key") == "url"),
                    None,
                )
                if url_pair is not None:
                    url = self.resolve(url_pair.field("value"), 0, literals, names)
            reach = [options] if options is not None else []
            if options is not None and options.kind() == "identifier" and options.text() in self.decls:
                reach.append(self.decls[options.text()][-1])
            signed, convai = self._classify(url, names, literals, is_socket, reach)
            if is_socket:
                (self.socket_names if convai else self.other_sockets).add(_bound_name(node))
            if not convai:
                self._other_api(url, literals, node)
                continue
            span = _span(node, self.offset)
            self.agent_ranges.append(span)
            header_pairs = self._headers(reach)
            if is_socket:
                ws_from = "ws" if ctext in self.ws_names else "global"
                self.out.sockets.append(
                    Socket(
                        "js",
                        span[0],
                        span[1],
                        [(*_span(lit, self.offset), lit.text()) for lit in literals],
                        url,
                        signed and not _WS_URL.search(url),
                        ws_from,
                        (*_span(options, self.offset), options.text())
                        if options is not None and options.kind() == "object"
                        else None,
                        header_pairs,
                        None,
                        _agent_refs(url),
                        len(positional),
                    )
                )

    def _headers(self, reach: list[SgNode]) -> list[tuple[int, int, str]]:
        found = []
        for node in reach:
            resolved = [node]
            for pair in node.find_all(kind="pair"):
                key, value = pair.field("key"), pair.field("value")
                if (
                    key is not None
                    and key.text() == "headers"
                    and value is not None
                    and value.kind() == "identifier"
                    and value.text() in self.decls
                ):
                    resolved.append(self.decls[value.text()][-1])
            for scope in resolved:
                for pair in scope.find_all(kind="pair"):
                    key = pair.field("key")
                    if key is None:
                        continue
                    rule = self.v.name("header", literal_content(key.text()).lower())
                    if rule:
                        self.hit(rule, key)
                        found.append((*_span(pair, self.offset), pair.text()))
        return found

    def _other_protocol(self) -> None:
        """What belongs to another socket of the file: the message handlers of a connection a server
        accepted (``server.on("connection", (caller) => …)``) or of a socket to another URL, and the
        messages sent to them. A bridge speaks both protocols in one file; only the convai side counts."""
        others = {n for n in self.other_sockets if n}
        listens = []
        for call in self.root.find_all(kind="call_expression"):
            fn, args = call.field("function"), call.field("arguments")
            if fn is None or fn.kind() != "member_expression" or args is None:
                continue
            prop = fn.field("property")
            if prop is None:
                continue
            positional = args.named_children()
            if (
                prop.text() in ("on", "once", "addEventListener")
                and len(positional) >= 2
                and positional[0].kind() == "string"
            ):
                event, handler = literal_content(positional[0].text()), positional[1]
                if event == "connection" and handler.kind() in ("arrow_function", "function_expression"):
                    others.update(filter(None, [_first_param(handler)]))
                elif event == "message":
                    listens.append((fn.field("object"), handler, False))
            elif prop.text() == "send" and positional:
                listens.append((fn.field("object"), positional[0], True))
        for a in self.root.find_all(kind="assignment_expression"):
            left = a.field("left")
            if (
                left is not None
                and left.kind() == "member_expression"
                and _field_text(left, "property") == "onmessage"
                and (right := a.field("right")) is not None
            ):
                listens.append((left.field("object"), right, False))
        for receiver, node, sending in listens:
            if receiver is None or receiver.text() not in others | self.socket_names:
                continue
            ours = receiver.text() in self.socket_names
            spans = (
                (self.convai_sends if ours else self.other_sends)
                if sending
                else (self.convai_handlers if ours else self.other_handlers)
            )
            spans.append(_span(node, self.offset))
            arguments = node.field("arguments") if node.kind() == "call_expression" else None
            sent = arguments.named_children() if arguments is not None else [node]
            for value in sent if sending else []:  # caller.send(JSON.stringify(reply)): the object declared as `reply`
                if value.kind() == "identifier" and value.text() in self.decls:
                    spans.append(_span(self.decls[value.text()][-1], self.offset))

    def protocol(self) -> None:
        self._other_protocol()
        for b in self.root.find_all(kind="binary_expression"):
            op = b.field("operator")
            if op is None or op.text() not in ("===", "==", "!==", "!="):
                continue
            left, right = b.field("left"), b.field("right")
            for value, other in ((right, left), (left, right)):
                if value is not None and value.kind() == "string" and other is not None and self._typeish(other):
                    self._event_name(value)
        for sw in self.root.find_all(kind="switch_statement"):
            subject = sw.field("value")
            if subject is None or not self._typeish(subject):
                continue
            for case in sw.find_all(kind="switch_case"):
                value = case.field("value")
                if value is not None and value.kind() == "string":
                    self._event_name(value)
        for obj in self.root.find_all(kind="object"):
            pairs = [
                (p.field("key"), p.field("value")) if p.kind() == "pair" else (p, None)
                for p in obj.named_children()
                if p.kind() in ("pair", "shorthand_property_identifier")
            ]
            self._message(obj, [(k, v) for k, v in pairs if k is not None])
        for m in self.root.find_all(kind="member_expression"):
            prop = m.field("property")
            if prop is not None:
                self._field(prop.text(), prop, m)
        for s in self.root.find_all(kind="subscript_expression"):
            index = s.field("index")
            if index is not None and index.kind() == "string":
                self._field(literal_content(index.text()), index, s)
        for p in find_kinds(self.root, self.grammar, "shorthand_property_identifier_pattern", "pair_pattern"):
            key = p if p.kind() == "shorthand_property_identifier_pattern" else p.field("key")
            if key is not None:
                self._field(literal_content(key.text()), key, p)

    def _typeish(self, node: SgNode) -> bool:
        kind = node.kind()
        if kind == "parenthesized_expression":
            inner = node.named_children()
            return bool(inner) and self._typeish(inner[0])
        if kind == "member_expression":
            prop = node.field("property")
            return prop is not None and bool(_TYPEISH.search(prop.text()))
        if kind == "subscript_expression":
            index = node.field("index")
            return index is not None and literal_content(index.text()) == "type"
        return kind == "identifier" and self._typeish_name(node)

    def elements(self) -> None:
        for el in find_kinds(self.root, self.grammar, "jsx_opening_element", "jsx_self_closing_element"):
            name = el.field("name")
            if name is None:
                continue
            rule = self.v.name("element", name.text())
            if rule:
                self.hit(rule, name)
                self.kept_ranges.append(_span(el, self.offset))

    def run(self) -> None:
        self.collect_voices("pair")
        self.collect_legacy_agent_ids("pair", "variable_declarator", "jsx_attribute")
        super().run()
        self.elements()
        for node in self.root.find_all(kind="property_identifier"):
            if node.text() in self.v.names.get("env", {}):
                self.pending_env.append(node)


class _Py(_Code):
    lang = "py"
    string_kinds = ("string",)
    functions = _FUNCTIONS_PY

    def collect_decls(self) -> None:
        for a in self.root.find_all(kind="assignment"):
            left, right = a.field("left"), a.field("right")
            if left is not None and right is not None:
                self.decls.setdefault(left.text(), []).append(right)
        self.other_receivers: set[str] = set()
        self.loops: dict[str, SgNode] = {}  # async for raw in browser.iter_text(): where `raw` comes from
        for loop in self.root.find_all(kind="for_statement"):
            left, right = loop.field("left"), loop.field("right")
            if left is not None and right is not None and left.kind() == "identifier":
                self.loops[left.text()] = right

    def _from_other(self, node: SgNode, depth: int = 0) -> bool:
        """Whether a message read here was received from another socket of the file (a bridge's
        browser or caller side), followed through the variables it came from."""
        if depth > 4 or not self.socket_names - {""} or not self.other_receivers:
            return False
        for ident in [node] if node.kind() == "identifier" else node.find_all(kind="identifier"):
            sources = self.decls.get(ident.text(), [])[-1:] + (
                [self.loops[ident.text()]] if ident.text() in self.loops else []
            )
            for source in sources:
                m = _PY_RECEIVE.search(source.text())
                if m and m.group(1) in self.other_receivers:
                    return True
                if not m and source.kind() != "identifier" and self._from_other(source, depth + 1):
                    return True
        return False

    def _sends(self) -> None:
        """Messages sent to the convai socket and to others (`await browser.send_json({...})`). Another
        socket is known by a server's calls only (Starlette/FastAPI: accept, receive_*, iter_*), so a
        client socket bound in a way not followed here is never taken for another one."""
        self.other_receivers = {m.group(1) for m in _PY_SERVER_SIDE.finditer(self.root.text())} - self.socket_names
        for call in self.root.find_all(kind="call"):
            fn, args = call.field("function"), call.field("arguments")
            if (
                fn is None
                or args is None
                or fn.kind() != "attribute"
                or not (_field_text(fn, "attribute") or "").startswith("send")
                or (receiver := _field_text(fn, "object")) is None
            ):
                continue
            spans = (
                self.convai_sends
                if receiver in self.socket_names
                else self.other_sends
                if receiver in self.other_receivers
                else None
            )
            if spans is None:
                continue
            spans.append(_span(args, self.offset))
            for value in args.find_all(kind="identifier"):
                if value.text() in self.decls:
                    spans.append(_span(self.decls[value.text()][-1], self.offset))

    def imports(self) -> None:
        self.modules: dict[str, str] = {}  # local name -> module
        for imp in find_kinds(self.root, self.grammar, "import_from_statement", "import_statement"):
            if imp.kind() == "import_from_statement":
                module_node = imp.field("module_name")
                module = module_node.text() if module_node is not None else ""
                rule = self._module_rule(module)
                if rule and module_node is not None:
                    self.hit(rule, module_node)
                for name in imp.field_children("name"):
                    if name.kind() == "aliased_import":
                        orig, alias = name.field("name"), name.field("alias")
                        shown = alias or orig
                        if shown is None:
                            continue  # the grammar always gives an aliased import its name
                        local, imported = shown.text(), orig.text() if orig else ""
                    else:
                        local = imported = name.text()
                    self.modules[local] = module
                    if rule or module.startswith("elevenlabs.conversational_ai"):
                        self.sdk_names[local] = imported  # its uses are findings; the import line is the module's
            else:
                for name in imp.field_children("name"):
                    module_node = name.field("name") if name.kind() == "aliased_import" else name
                    module = module_node.text() if module_node is not None else ""
                    rule = self._module_rule(module)
                    if rule and module_node is not None:
                        self.hit(rule, module_node)
                    bound = name.field("alias") or module_node if name.kind() == "aliased_import" else None
                    local = bound.text() if bound is not None else module.split(".")[0]
                    self.modules[local] = module

    def _module_rule(self, module: str) -> str | None:
        for prefix, rule in self.v.names.get("module", {}).items():
            if "." in prefix and (module == prefix or module.startswith(prefix + ".")):
                return rule
        return None

    def sdk(self) -> None:
        if not self.sdk_names:
            return
        for ident in self.root.find_all(kind="identifier"):
            local = ident.text()
            if local not in self.sdk_names:
                continue
            parent = ident.parent()
            if (
                parent is None
                or parent.kind() in ("dotted_name", "aliased_import", "keyword_argument")
                and not _same(parent.field("value"), ident)
            ):
                continue
            if any(a.kind() in ("import_from_statement", "import_statement") for a in ident.ancestors()):
                continue
            self.hit(self.v.name("sdk_symbol", self.sdk_names[local]), ident)
            if parent.kind() == "call" and _same(parent.field("function"), ident):
                self._sdk_call(parent)

    def _sdk_call(self, call: SgNode) -> None:
        self.sdk_code(call)
        args = call.field("arguments")
        if args is not None:
            for kw in args.named_children():
                if kw.kind() == "keyword_argument":
                    name = kw.field("name")
                    if name is not None:
                        self.hit(self.v.name("sdk_option", name.text()), name)
        holder = call.parent()
        while holder is not None and holder.kind() in ("await", "parenthesized_expression"):
            holder = holder.parent()
        if holder is None or holder.kind() != "assignment":
            return
        target = holder.field("left")
        if target is None:
            return
        binding = target.text()
        scope = self.root if binding.startswith("self.") else self.scope_of(holder)
        if binding.startswith("self."):
            cls = next((a for a in holder.ancestors() if a.kind() == "class_definition"), None)
            scope = cls or self.root
        for attr in scope.find_all(kind="attribute"):
            obj, name = attr.field("object"), attr.field("attribute")
            if obj is not None and name is not None and obj.text() == binding:
                self.hit(self.v.name("sdk_member", name.text()), name)

    def requests_and_sockets(self) -> None:
        for call in self.root.find_all(kind="call"):
            fn = call.field("function")
            if fn is None:
                continue
            ftext = fn.text()
            is_socket = bool(_PY_SOCKET.search(ftext)) and self._socket_module(ftext)
            if not is_socket and not _PY_REQUEST.search(ftext):
                continue
            args = call.field("arguments")
            if args is None:
                continue
            positional = [a for a in args.named_children() if a.kind() not in ("keyword_argument", "comment")]
            kwargs = {
                name: kw
                for kw in args.named_children()
                if kw.kind() == "keyword_argument" and (name := _field_text(kw, "name")) is not None
            }
            url_node = positional[0] if positional else (kwargs["url"].field("value") if "url" in kwargs else None)
            literals: list[SgNode] = []
            names: list[str] = []
            url = self.resolve(url_node, 0, literals, names)
            reach: list[SgNode] = []
            headers_kwarg = None
            for key in ("headers", "additional_headers", "extra_headers", "header"):
                if key in kwargs:
                    headers_kwarg = key
                    value = kwargs[key].field("value")
                    if value is not None:
                        reach.append(value)
                        if value.text() in self.decls:
                            reach.append(self.decls[value.text()][-1])
            signed, convai = self._classify(url, names, literals, is_socket, reach)
            if not convai:
                self._other_api(url, literals, call)
                continue
            span = _span(call, self.offset)
            self.agent_ranges.append(span)
            for key in ("json", "data", "body"):
                value = kwargs[key].field("value") if key in kwargs else None
                if value is not None:
                    self.agent_ranges.append(_span(value, self.offset))
                    if value.text() in self.decls:
                        self.agent_ranges.append(_span(self.decls[value.text()][-1], self.offset))
            header_pairs = []
            for node in reach:
                for pair in [node] if node.kind() == "pair" else node.find_all(kind="pair"):
                    key_node = pair.field("key")
                    if key_node is not None and self.v.name("header", literal_content(key_node.text()).lower()):
                        self.hit(self.v.name("header", literal_content(key_node.text()).lower()), key_node)
                        header_pairs.append((*_span(pair, self.offset), pair.text()))
            if is_socket:
                self.socket_names.add(_py_bound_name(call))
                module = self.modules.get(ftext.split(".")[0], "")
                ws_from = "websockets" if module.startswith("websockets") else "other"
                self.out.sockets.append(
                    Socket(
                        "py",
                        span[0],
                        span[1],
                        [(*_span(lit, self.offset), lit.text()) for lit in literals],
                        url,
                        signed and not _WS_URL.search(url),
                        ws_from,
                        (*_span(args, self.offset), args.text()),
                        header_pairs,
                        headers_kwarg,
                        _agent_refs(url),
                    )
                )

    def _socket_module(self, ftext: str) -> bool:
        module = self.modules.get(ftext.split(".")[0], "")
        return module.startswith(("websockets", "websocket", "aiohttp")) or ftext.startswith(
            ("session.", "self.session.")
        )

    def protocol(self) -> None:
        self._sends()
        for cmp in self.root.find_all(kind="comparison_operator"):
            operands = cmp.named_children()
            ops = [c.text() for c in cmp.children() if not c.is_named()]
            if len(operands) != 2 or not ops or ops[0] not in ("==", "!="):
                continue
            left, right = operands
            for value, other in ((right, left), (left, right)):
                if value.kind() == "string" and self._typeish(other) and not self._from_other(other):
                    self._event_name(value)
        for match in self.root.find_all(kind="match_statement"):
            subject = match.field("subject")
            if subject is None or not self._typeish(subject):
                continue
            for pattern in match.find_all(kind="case_pattern"):
                for s in pattern.find_all(kind="string"):
                    self._event_name(s)
        for d in self.root.find_all(kind="dictionary"):
            pairs = [(p.field("key"), p.field("value")) for p in d.named_children() if p.kind() == "pair"]
            self._message(d, [(k, v) for k, v in pairs if k is not None and k.kind() == "string"])
        for s in self.root.find_all(kind="subscript"):
            index = s.field("subscript")
            if index is not None and index.kind() == "string" and not self._from_other(s.field("value") or s):
                self._field(literal_content(index.text()), index, s)
        for call in self.root.find_all(kind="call"):
            fn = call.field("function")
            args = call.field("arguments")
            if (
                fn is not None
                and fn.kind() == "attribute"
                and fn.text().endswith(".get")
                and args is not None
                and args.named_children()
            ):
                first = args.named_children()[0]
                if first.kind() == "string" and not self._from_other(fn.field("object") or fn):
                    self._field(literal_content(first.text()), first, call)

    def _typeish(self, node: SgNode) -> bool:
        kind = node.kind()
        if kind == "subscript":
            index = node.field("subscript")
            return index is not None and literal_content(index.text()) == "type"
        if kind == "attribute":
            name = node.field("attribute")
            return name is not None and bool(_TYPEISH.search(name.text()))
        if kind == "call":
            fn, args = node.field("function"), node.field("arguments")
            return bool(
                fn is not None
                and fn.text().endswith(".get")
                and args is not None
                and args.named_children()
                and literal_content(args.named_children()[0].text()) == "type"
            )
        return kind == "identifier" and self._typeish_name(node)

    def run(self) -> None:
        self.collect_voices("keyword_argument", "pair")
        self.collect_legacy_agent_ids("keyword_argument", "pair", "assignment")
        super().run()


_PY_SERVER_SIDE = re.compile(r"([\w.]+)\.(?:accept|receive_\w+|iter_\w+)\(")
_PY_RECEIVE = re.compile(r"([\w.]+)\.(?:recv|receive\w*|iter_\w+)\(")


def _py_bound_name(call: SgNode) -> str:
    """What a Python socket call is bound to: `async with connect(…) as agent`, `agent = await connect(…)`."""
    holder = call.parent()
    if holder is not None and holder.kind() == "as_pattern":
        target = next((c for c in holder.children() if c.kind() == "as_pattern_target"), None)
        return target.text() if target is not None else ""
    while holder is not None and holder.kind() in ("await", "parenthesized_expression"):
        holder = holder.parent()
    if holder is not None and holder.kind() == "assignment":
        return _field_text(holder, "left") or ""
    return ""


_WS_SERVER_SIDE = {"WebSocketServer", "Server", "createWebSocketStream", "Receiver", "Sender"}


def _ws_clients(names: dict[str, str]) -> set[str]:
    """The local names of the `ws` client class among those imported (a WebSocketServer opens no connection)."""
    return {local for local, imported in names.items() if imported not in _WS_SERVER_SIDE}


def _bound_name(node: SgNode) -> str:
    """The name an expression's value is bound to (`const ws = …`, `this.socket = …`), or ""."""
    holder = node.parent()
    while holder is not None and holder.kind() in ("await_expression", "parenthesized_expression"):
        holder = holder.parent()
    if holder is not None and holder.kind() == "variable_declarator":
        return _field_text(holder, "name") or ""
    if holder is not None and holder.kind() == "assignment_expression":
        return _field_text(holder, "left") or ""
    return ""


def _first_param(function: SgNode) -> str:
    single = function.field("parameter")
    if single is not None:
        return single.text()
    params = function.field("parameters")
    first = params.named_children()[0] if params is not None and params.named_children() else None
    if first is not None and first.kind() in ("required_parameter", "optional_parameter"):
        first = first.field("pattern")
    return first.text() if first is not None and first.kind() == "identifier" else ""


def _own_text(node: SgNode) -> str:
    """A literal's own characters: a template's or f-string's substitutions are other nodes."""
    text = node.text()
    if "${" not in text and "{" not in text:
        return literal_content(text)
    parts = [c.text() for c in node.children() if c.kind() in ("string_fragment", "string_content", "escape_sequence")]
    return "".join(parts) if parts or node.kind() == "template_string" else literal_content(text)


_KIND_OK: dict[tuple[str, str], bool] = {}


def _kind_ok(grammar: str, kind: str) -> bool:
    """Whether the grammar has this node kind (JSX kinds are absent from plain TypeScript): probed once."""
    key = (grammar, kind)
    if key not in _KIND_OK:
        try:
            SgRoot("", grammar).root().find_all(kind=kind)
            _KIND_OK[key] = True
        except RuntimeError:
            _KIND_OK[key] = False
    return _KIND_OK[key]


def find_kinds(node: SgNode, grammar: str, *kinds: str) -> list[SgNode]:
    """Nodes of any of ``kinds`` that ``grammar`` has."""
    valid = [k for k in kinds if _kind_ok(grammar, k)]
    if not valid:
        return []
    return node.find_all(any=[{"kind": k} for k in valid]) if len(valid) > 1 else node.find_all(kind=valid[0])


def _same(a: SgNode | None, b: SgNode) -> bool:
    return (
        a is not None and a.range().start.index == b.range().start.index and a.range().end.index == b.range().end.index
    )


def _agent_refs(url: str) -> list[str]:
    m = re.search(r"agent_id=\{([^}]+)\}", url)
    return [m.group(1)] if m else []


SCRIPT_LANG = {"ts": "typescript", "typescript": "typescript", "tsx": "tsx", "jsx": "javascript"}


def _scripts(root: SgNode) -> Iterator[tuple[SgNode, str]]:
    for script in root.find_all(kind="script_element"):
        raw = script.find(kind="raw_text")
        if raw is None or not raw.text().strip():
            continue
        start = script.find(kind="start_tag")
        lang = "javascript"
        if start is not None:
            for attr in start.find_all(kind="attribute"):
                name, value = attr.find(kind="attribute_name"), attr.find(kind="attribute_value")
                if name is not None and value is not None and name.text() == "lang":
                    lang = SCRIPT_LANG.get(value.text(), "javascript")
                if (
                    name is not None
                    and value is not None
                    and name.text() == "type"
                    and value.text() not in ("module", "text/javascript", "application/javascript")
                ):
                    lang = ""
        if lang:
            yield raw, lang


def analyze(text: str, language: str, vocab: Vocabulary) -> Analysis:
    """``language``: javascript, typescript, tsx, python or html (Vue and Svelte are read as html)."""
    out = Analysis()
    if language == "html":
        root = SgRoot(text, "html").root()
        _html(root, vocab, out)
        for raw, lang in _scripts(root):
            start = raw.range().start.index
            sub = SgRoot(raw.text(), lang).root()
            script = _JS(sub, start, vocab, out, lang)
            script.run()
            _finish(script, out)
        out.roots.append((root, 0, "html"))
        return out
    root = SgRoot(text, language).root()
    code: _Code = _Py(root, 0, vocab, out, language) if language == "python" else _JS(root, 0, vocab, out, language)
    code.run()
    _finish(code, out)
    return out


def _html(root: SgNode, vocab: Vocabulary, out: Analysis) -> None:
    seen: set[tuple[str, int]] = set()

    def add(rule_id: str | None, node: SgNode, kept: bool = False) -> None:
        if rule_id and (rule_id, node.range().start.index) not in seen:
            seen.add((rule_id, node.range().start.index))
            out.hits.append(Hit(rule_id, node.range().start.index, node.range().end.index, node.text(), kept=kept))

    widgets: list[tuple[int, int]] = []
    for tag in root.find_all(kind="tag_name"):
        rule = vocab.name("element", tag.text())
        parent = tag.parent()
        if rule and parent is not None and parent.kind() in ("start_tag", "self_closing_tag"):
            add(rule, tag)
            element = parent.parent() or parent
            widgets.append((element.range().start.index, element.range().end.index))
    for value in root.find_all(kind="attribute_value"):
        content = value.text()
        start = value.range().start.index
        kept = any(a <= start < b for a, b in widgets)
        parent = value.parent()
        attr = parent.parent() if parent is not None and parent.kind() == "quoted_attribute_value" else parent
        name = attr.child(0) if attr is not None and attr.kind() == "attribute" else None
        if kept and name is not None and name.text() == "agent-id" and _VOICE_ID.fullmatch(content):
            add("EL-AGENT-ID", value, kept)  # a legacy 20-character id (elevenlabs-convai-api.md §1)
        for regex, rule_id in vocab.regexes["literal"]:
            if regex.search(content):
                add(rule_id, value, kept)
        if vocab.other_literal.search(content):
            out.saw_other_api(start)


def _finish(code: _Code, out: Analysis) -> None:
    """Env reads count in files holding agent code; ids inside kept calls are marked."""
    agent_hits = any(h.rule_id != OTHER_API_RULE for h in out.hits)
    for node in code.pending_env:
        if agent_hits and (not out.other_api or code.inside(node, code.agent_ranges)):
            code.hit(code.v.name("env", literal_content(node.text())), node)
    for node in code.pending_agent_ids if agent_hits else []:
        code.hit("EL-AGENT-ID", node)
    if code.kept_ranges:
        out.hits[:] = [
            Hit(h.rule_id, h.start, h.end, h.text, True, h.detail)
            if h.rule_id == "EL-AGENT-ID" and any(a <= h.start and h.end <= b for a, b in code.kept_ranges)
            else h
            for h in out.hits
        ]
