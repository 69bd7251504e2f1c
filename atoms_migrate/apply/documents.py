"""Knowledge-base documents as Atoms can take them: text rendered to PDF.

Atoms knowledge bases accept PDF uploads and URLs only (smallest-atoms-api.md §F.6: no
text upload), while most ElevenLabs documents are text, or files whose extracted content
ElevenLabs serves as HTML (elevenlabs-convai-api.md §D.1 ``/content``). ``html_to_text``
turns that content into plain paragraphs (stdlib parser: scripts and styles dropped,
block elements become line breaks) and ``render_pdf`` draws it with fpdf2, a maintained
PDF library. fpdf2's built-in fonts cover Latin-1 only, so a Unicode TTF is used when one
is found (``find_unicode_font``); without one, accents are reduced to their base letter and
any character still not drawable is counted, so the caller can report the loss.
"""

from __future__ import annotations

import os
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
)
_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre", "blockquote"}


def find_unicode_font(explicit: str | None = None) -> Path | None:
    for candidate in ([explicit] if explicit else []) + list(FONT_CANDIDATES):
        if candidate and os.path.isfile(candidate):
            return Path(candidate)
    return None


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(content: str) -> str:
    """Plain text of HTML (or of text that merely looks like it); paragraphs kept."""
    if "<" not in content:
        return content.strip()
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _latin1(text: str) -> tuple[str, int]:
    """Text drawable by the core fonts: accents folded, the rest replaced and counted."""
    out, lost = [], 0
    for ch in text:
        if ch in "\n\t" or ord(ch) < 256:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base and all(ord(c) < 256 for c in base):
            out.append(base)
        else:
            out.append(
                {
                    "\u2018": "'",
                    "\u2019": "'",
                    "\u201c": '"',
                    "\u201d": '"',
                    "\u2013": "-",
                    "\u2014": "-",
                    "\u2026": "...",
                }.get(ch, "?")
            )
            lost += out[-1] == "?"
    return "".join(out), lost


def render_pdf(title: str, text: str, font: Path | None = None) -> tuple[bytes, int]:
    """(PDF bytes, number of characters that could not be drawn)."""
    from fpdf import FPDF  # imported here: only knowledge-base migrations need it

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    lost = 0
    if font is not None:
        pdf.add_font("body", fname=str(font))
        family = "body"
    else:
        family = "helvetica"
        title, _ = _latin1(title)
        text, lost = _latin1(text)
    pdf.set_font(family, size=14)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, size=11)
    pdf.multi_cell(0, 6, text or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output()), lost
