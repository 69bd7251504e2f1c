"""The unit of a ``scan --fix`` port, planned whole or not at all (no writing here: see ``fix``).

The unit is the seed's minimal port of a raw WebSocket client (migration guide §6 Node, §7 Python;
smallest-atoms-api.md §A.6, §A.7): the URL, the auth in the form the runtime can send, the agent id
(from the state file) and the renamed message and event names of that connection, all together.
``port_units`` plans it and lists every blocker; with any blocker nothing is written and each
finding carries the exact steps to do by hand. ``apply_edits`` and ``syntax_errors`` are the
helpers the fixer uses to make and check the rewrite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ast_grep_py import SgNode, SgRoot

from atoms_migrate.scan.model import Known, SourceText
from atoms_migrate.scan.tree import _WS_URL, Analysis, Hit, Vocabulary, _scripts, find_kinds, literal_content

ATOMS_WS = "wss://api.smallest.ai/atoms/v1/agent/connect"
KEY_JS = "process.env.SMALLEST_API_KEY"
KEY_PY = 'os.environ["SMALLEST_API_KEY"]'
_BROWSER = re.compile(
    r"""^\s*["']use client["']|\bwindow\.|\bdocument\.|\bnavigator\.|import\.meta\.env|\blocalStorage\b""", re.MULTILINE
)
_RENAMES = {
    "EL-MSG-USER-MESSAGE": "input_text.send",
    "EL-EVT-INITIATION-METADATA": "session.created",
    "EL-EVT-INTERRUPTION": "interruption",
}
_HARMLESS = {
    "EL-EVT-PING",
    "EL-MSG-PONG",
}  # handlers Atoms never triggers: left for the user to delete, they do not stop a port
_TRANSCRIPTS = {
    "EL-EVT-USER-TRANSCRIPT": ("user_transcription_event", "user_transcript", "user"),
    "EL-EVT-AGENT-RESPONSE": ("agent_response_event", "agent_response", "agent"),
}
_AUDIO = {"EL-EVT-AUDIO", "EL-EVT-AUDIO-TYPE", "EL-MSG-USER-AUDIO"}
_AGENT_REST = {
    "EL-REST-AGENTS",
    "EL-REST-CONVERSATIONS",
    "EL-REST-CALLS",
    "EL-REST-CONVAI",
    "EL-WEBRTC-TOKEN",
    "EL-SIGNED-URL",
}  # requests for the agent or its sessions
UNIT_RULES = {"EL-WS-URL", "EL-SIGNED-URL", "EL-AGENT-ID", "EL-XI-API-KEY", "EL-API-KEY-ENV"}
BROWSER_STEPS = (
    "a browser cannot hold the Smallest API key: on your server, mint a single-use wct_ token with "
    "POST /atoms/v1/conversation/register-call {agent_id} and connect the browser to "
    f"{ATOMS_WS}?token=<wct_…> (the token carries the agent), then rename the messages and events as listed"
)
AUDIO_STEPS = (
    "audio changes format: set sample_rate (8000, 16000, 24000 or 48000) to the rate your ElevenLabs agent used "
    '(16 kHz PCM by default), send {type: "input_audio_buffer.append", audio} and play output_audio.delta\'s `audio`'
)


@dataclass
class UnitPort:
    """The planned port of a file's raw WebSocket client, or why there is none."""

    edits: list[tuple[int, int, str]] = field(default_factory=list)
    fixed: set[tuple[int, str]] = field(default_factory=set)  # (hit start, rule id)
    blockers: list[str] = field(default_factory=list)
    unit_hits: set[tuple[int, str]] = field(default_factory=set)  # hits that belong to the unit
    request_headers: set[int] = field(default_factory=set)  # xi-api-key on requests that stay on ElevenLabs

    def steps_for(self, hit: Hit) -> str:
        if (hit.start, hit.rule_id) in self.unit_hits and self.blockers:
            return "port the WebSocket client whole: " + "; ".join(dict.fromkeys(self.blockers))
        if hit.rule_id == "EL-XI-API-KEY" and hit.start in self.request_headers:
            return (
                "this request still goes to ElevenLabs: change its header only when the request itself moves to Atoms"
            )
        if hit.kept and hit.rule_id == "EL-AGENT-ID":
            return "replace the widget or SDK call first (guide §5); the id stays as long as that code does"
        return ""


def port_units(source: SourceText, analysis: Analysis, known: Known, vocab: Vocabulary) -> UnitPort:
    port = UnitPort()
    socket_spans = [(s.call_start, s.call_end) for s in analysis.sockets]
    for h in analysis.hits:
        if h.rule_id == "EL-XI-API-KEY" and not any(a <= h.start < b for a, b in socket_spans):
            port.request_headers.add(h.start)
    if not analysis.sockets:
        return port
    for h, _node, _offset in analysis.protocol:
        port.unit_hits.add((h.start, h.rule_id))
    for h in analysis.hits:
        if h.rule_id in UNIT_RULES and h.start not in port.request_headers and not h.kept:
            port.unit_hits.add((h.start, h.rule_id))
    if len(analysis.sockets) > 1:
        port.blockers.append(f"the file opens {len(analysis.sockets)} ElevenLabs WebSockets; port each one by hand")
        return port
    _plan_socket(source, analysis, known, vocab, port)
    port.blockers = list(dict.fromkeys(port.blockers))
    if port.blockers:
        port.edits, port.fixed = [], set()
    return port


def _plan_socket(source: SourceText, analysis: Analysis, known: Known, vocab: Vocabulary, port: UnitPort) -> None:
    """Every blocker of the unit, or its edits: the connection and its protocol names together."""
    sock = analysis.sockets[0]
    rest = sorted({source.text.count("\n", 0, h.start) + 1 for h in analysis.hits if h.rule_id in _AGENT_REST})
    if rest:  # a socket on Atoms beside requests about the ElevenLabs agent would be half on each vendor
        port.blockers.append(
            f"this file also calls the ElevenLabs agent API (line {', '.join(map(str, rest))}): "
            "move those requests to Atoms in the same change"
        )
    edits = _plan_connection(source, analysis, known, port) + _plan_protocol(analysis, vocab, port, sock.language)
    port.edits = _without_nested(edits)
    for h in analysis.hits:
        if (
            h.rule_id in UNIT_RULES
            and (h.start, h.rule_id) in port.unit_hits
            and any(a <= h.start < b or (a == b == h.start) for a, b, _ in port.edits)
        ):
            port.fixed.add((h.start, h.rule_id))


def _plan_connection(
    source: SourceText, analysis: Analysis, known: Known, port: UnitPort
) -> list[tuple[int, int, str]]:
    """The URL, the auth in the runtime's form and the agent id of the socket."""
    sock = analysis.sockets[0]
    text = source.text
    if sock.signed:
        port.blockers.append(
            "the URL is an ElevenLabs signed URL fetched at run time: drop that fetch and connect to "
            f"{ATOMS_WS} with agent_id and the Smallest key (server) or a wct_ token from register-call (browser)"
        )
        return []
    url_literal = next((lit for lit in sock.url_literals if _WS_URL.search(lit[2])), None)
    if url_literal is None:
        port.blockers.append("the WebSocket URL is not a literal in this file: point it at " + ATOMS_WS)
        return []
    node_side = bool(re.search(r"\brequire\(|\bprocess\.|from\s+[\"']node:", text))
    browser = (
        sock.language == "js"
        and sock.ws_from == "global"
        and (
            source.language == "tsx"
            or source.path.suffix in (".jsx", ".html", ".vue", ".svelte")
            or bool(_BROWSER.search(text))
            or not node_side
        )
    )
    if browser:
        port.blockers.append(BROWSER_STEPS)
    if sock.language == "py" and sock.ws_from != "websockets":
        port.blockers.append(
            "only clients of the websockets package are ported: send 'Authorization: Bearer <SMALLEST_API_KEY>' "
            f"to {ATOMS_WS} yourself"
        )
    edits: list[tuple[int, int, str]] = []
    # the agent id
    m = re.search(r"agent_id=([^&{}\"'`]+|\{[^}]*\})", sock.url_text)
    agent_edit = None
    if m is None:
        port.blockers.append("the URL has no agent_id: add agent_id=<Smallest agent id> (state file)")
    elif m.group(1).startswith("{"):
        port.blockers.append(
            f"the agent id comes from {m.group(1)[1:-1]} at run time: give it the Smallest agent id "
            "from the state file (atoms-migrate writes it there after migrating the agent)"
        )
    else:
        el_id = m.group(1)
        atoms_id = known.agents.get(el_id)
        holder = next((lit for lit in sock.url_literals if el_id in lit[2]), None)
        if atoms_id is None:
            port.blockers.append(
                f"agent {el_id} is not in the state file: migrate it first (atoms-migrate agent {el_id})"
            )
        elif holder is None:
            port.blockers.append(f"agent {el_id} is not written in this file's URL")
        elif holder != url_literal and _shared(analysis, holder):
            port.blockers.append(
                f"the constant holding {el_id} is used elsewhere in the file too: give the socket its own"
            )
        else:
            agent_edit = (holder, el_id, atoms_id)
    # the auth, in the form the runtime can send
    key = KEY_PY if sock.language == "py" else KEY_JS
    if any(not (sock.call_start <= start < sock.call_end) for start, _, _ in sock.header_pairs):
        port.blockers.append(
            "the xi-api-key header is defined outside the WebSocket call (other requests may share it): "
            "give the socket its own headers with Authorization: Bearer <SMALLEST_API_KEY>"
        )
    header = f'"Authorization": "Bearer " + {key}' if sock.language == "py" else f'Authorization: "Bearer " + {key}'
    token = False
    if sock.header_pairs:
        if sock.language == "js" and sock.ws_from != "ws":
            port.blockers.append("this WebSocket cannot send headers: use the token query parameter")
        edits += [(start, end, header) for start, end, _ in sock.header_pairs]
    elif sock.language == "py":
        if sock.headers_kwarg:
            port.blockers.append(f'add \'"Authorization": "Bearer " + {KEY_PY}\' to its {sock.headers_kwarg}')
        elif sock.options is not None:
            close = sock.options[1] - 1  # the argument list's ")"
            edits.append((close, close, f", additional_headers={{{header}}}"))
    elif sock.ws_from == "ws":
        if sock.arguments > 1:
            port.blockers.append(f"add headers: {{ {header} }} to the WebSocket options")
        else:
            close = text.rfind(")", sock.call_start, sock.call_end)
            edits.append((close, close, f", {{ headers: {{ {header} }} }}"))
    else:
        token = True
    if sock.language == "py" and not re.search(r"^\s*import\s+(?:[\w.]+\s*,\s*)*os\b", text, re.MULTILINE):
        first_import = re.search(r"^(?:import|from)\s", text, re.MULTILINE)
        at = first_import.start() if first_import else 0
        edits.append((at, at, "import os\n"))
    # the URL (and the agent id when it sits in the same literal)
    start, end, lit = url_literal
    new = _WS_URL.sub(ATOMS_WS, lit)
    if agent_edit and agent_edit[0] == url_literal:
        new = new.replace(agent_edit[1], agent_edit[2])
        agent_edit = None
    if token:
        if "`" not in lit and "${" not in lit and lit[:1] in "\"'":
            new = "`" + new[1:-1] + "`"
        if not new.startswith("`"):
            port.blockers.append("add token=<SMALLEST_API_KEY> to the URL")
        else:
            new = new[:-1] + ("&" if "?" in new else "?") + "token=${" + KEY_JS + "}`"
    edits.append((start, end, new))
    if agent_edit:
        (a_start, a_end, a_text), el_id, atoms_id = agent_edit
        edits.append((a_start, a_end, a_text.replace(el_id, atoms_id)))
    return edits


def _plan_protocol(analysis: Analysis, vocab: Vocabulary, port: UnitPort, language: str) -> list[tuple[int, int, str]]:
    """The renamed message and event names of the connection; anything else is a blocker."""
    edits: list[tuple[int, int, str]] = []
    done: set[int] = set()
    for hit, node, offset in analysis.protocol:
        key_ = (hit.start, hit.rule_id)
        if hit.rule_id in _HARMLESS:
            continue
        if hit.rule_id in _AUDIO:
            port.blockers.append(AUDIO_STEPS)
        elif hit.rule_id in _RENAMES and node.kind() == "string":
            quote_start, quote_end = hit.start, hit.end
            old = hit.text
            content = literal_content(old)
            new_text = old.replace(content, _RENAMES[hit.rule_id], 1)
            if new_text != old:
                edits.append((quote_start, quote_end, new_text))
            port.fixed.add(key_)
        elif hit.rule_id in _TRANSCRIPTS:
            edit = _transcript_edit(hit, node, offset, language)
            if isinstance(edit, str):
                port.blockers.append(edit)
                continue
            if edit is not None and edit[0] not in done:  # None: rewritten with its event object
                edits.append(edit)
                done.add(edit[0])
            port.fixed.add(key_)
        else:
            rule_steps = {
                "EL-EVT-INITIATION-METADATA": "read session.created's session_id/call_id/sample_rate instead of "
                "conversation_initiation_metadata_event"
            }
            port.blockers.append(
                rule_steps.get(hit.rule_id, f"{hit.text.strip()!s} has no like-for-like Atoms form ({hit.rule_id})")
            )
    return edits


def _transcript_edit(hit: Hit, node: SgNode, offset: int, language: str) -> tuple[int, int, str] | str | None:
    """``type === "user_transcript"`` and ``msg.user_transcription_event.user_transcript`` in their Atoms form."""
    event_key, text_key, role = _TRANSCRIPTS[hit.rule_id]
    roles = '["agent", "assistant"].includes({o}.role)' if role == "agent" else '{o}.role === "user"'
    py_roles = '{o}.get("role") in ("agent", "assistant")' if role == "agent" else '{o}.get("role") == "user"'
    if node.kind() == "string":  # a type comparison
        if literal_content(node.text()) != text_key:
            return (
                f'{node.text()} becomes transcript.delta with role "{role}" (cumulative text: replace, do not append)'
            )
        cmp = node.parent()
        if cmp is None or cmp.kind() not in ("binary_expression", "comparison_operator"):
            return (
                "a switch or match over the type cannot tell user from agent transcripts: "
                'compare type with "transcript" and check role'
            )
        other = next((c for c in cmp.named_children() if c.range().start.index != node.range().start.index), None)
        operator = cmp.field("operator") if cmp.kind() == "binary_expression" else None
        op = (
            operator.text()
            if operator is not None
            else next((c.text() for c in cmp.children() if not c.is_named()), "")
        )
        if (
            other is None
            or op not in ("===", "==")
            or other.kind() not in ("member_expression", "subscript_expression", "subscript")
        ):
            return f'rewrite the comparison `{cmp.text()}` as type "transcript" with role "{role}"'
        obj = other.field("object") or other.field("value")
        if obj is None:
            return None
        o = obj.text()
        new = (
            f'{other.text()} {op} "transcript" && {roles.format(o=o)}'
            if language == "js"
            else f'{other.text()} == "transcript" and {py_roles.format(o=o)}'
        )
        holder = cmp.parent()
        if holder is None or holder.kind() not in (
            "parenthesized_expression",
            "if_statement",
            "elif_clause",
            "while_statement",
        ):
            new = f"({new})"
        r = cmp.range()
        return (r.start.index + offset, r.end.index + offset, new)
    # a field read: the event object, then its text
    expr = node
    parent = expr.parent()
    name = (
        literal_content((expr.field("property") or expr.field("index") or expr.field("subscript") or expr).text())
        if expr.kind() != "string"
        else ""
    )
    if name == text_key and expr.kind() in ("member_expression", "subscript_expression", "subscript"):
        inner = expr.field("object") or expr.field("value")
        inner_name = (
            literal_content(
                (inner.field("property") or inner.field("index") or inner.field("subscript") or inner).text()
            )
            if inner is not None
            else ""
        )
        if inner_name == event_key:
            return None  # handled with the event object below
        return f"read the transcript text from `text` instead of `{expr.text()}`"
    if (
        name != event_key
        or parent is None
        or parent.kind() not in ("member_expression", "subscript_expression", "subscript")
    ):
        return f"read the transcript text from `text` instead of `{expr.text()}`"
    last = literal_content(
        (parent.field("property") or parent.field("index") or parent.field("subscript") or parent).text()
    )
    if last != text_key:
        return f"read the transcript text from `text` instead of `{parent.text()}`"
    base = expr.field("object") or expr.field("value")
    if base is None:
        return None
    r = parent.range()
    new = f"{base.text()}.text" if parent.kind() == "member_expression" else f'{base.text()}["text"]'
    return (r.start.index + offset, r.end.index + offset, new)


def _shared(analysis: Analysis, literal: tuple[int, int, str]) -> bool:
    """The agent id literal sits in a declaration whose name is used more than once besides it."""
    for root, offset, grammar in analysis.roots:
        for decl in find_kinds(root, grammar, "variable_declarator", "assignment"):
            value = decl.field("value") or decl.field("right")
            name = decl.field("name") or decl.field("left")
            if value is None or name is None or value.range().start.index + offset != literal[0]:
                continue
            uses = [n for n in root.find_all(kind="identifier") if n.text() == name.text()]
            return len(uses) > 2
    return False


def _without_nested(edits: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Drop an edit inside another one (the outer one already rewrites that text)."""

    def inside(e: tuple[int, int, str], o: tuple[int, int, str]) -> bool:
        if o[0] == o[1] or (o[0], o[1]) == (e[0], e[1]):
            return False
        return o[0] < e[0] < o[1] if e[0] == e[1] else o[0] <= e[0] and e[1] <= o[1]

    return sorted({e for e in edits if not any(inside(e, o) for o in edits)})


def apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def syntax_errors(text: str, language: str) -> int:
    """ERROR nodes, plus the zero-width identifiers tree-sitter invents for a missing one (HTML: with its scripts)."""
    root = SgRoot(text, language).root()
    invented = [n for n in find_kinds(root, language, "identifier") if not n.text()]
    scripts = sum(syntax_errors(raw.text(), lang) for raw, lang in _scripts(root)) if language == "html" else 0
    return len(root.find_all(kind="ERROR")) + len(invented) + scripts
