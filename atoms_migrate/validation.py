"""Pydantic validation errors in the user's words: the JSON path of the bad field and what was due there.

Shared by the two places that validate JSON with pydantic and word the first error themselves: the
saved-plan file (``apply.saved``, our own file) and Atoms' fixed-shape answers
(``platforms.smallest_models``, the vendor's).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

# pydantic error type -> the kind of JSON value that was due.
EXPECTED: dict[str, str] = {
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
    "list_type": "an array",
    "string_type": "a string",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
}


def json_path(loc: Iterable[int | str], skip: Collection[str] = ()) -> str:
    """A pydantic location as a JSON path (``agents[0].source.hash``); ``skip`` drops a union's branch names."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in skip:
            out += ("." if out else "") + part
    return out
