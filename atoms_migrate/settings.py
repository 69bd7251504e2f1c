"""The environment, read once per command into ``Settings``: the place the CLI reads ``os.environ``.

Variables that feed an option are declared on the option itself (typer ``envvar=``), so ``--help`` names them:
``--smallest-base-url`` ($SMALLEST_BASE_URL) and ``--elevenlabs-base-url`` ($ELEVENLABS_BASE_URL). The rest are
read here:

- ``ELEVENLABS_API_KEY``, ``SMALLEST_API_KEY``: the API keys; environment only, never an option (a key on the
  command line would end up in shell history and process lists). ``api_key`` refuses one that could not be a
  header value, without echoing it.
- ``ATOMS_MIGRATE_SECRET_<NAME>``: values of secrets tool headers need (as ``--secret NAME=VALUE``).
- ``ATOMS_MIGRATE_PDF_FONT``: a TrueType font for the PDFs knowledge-base documents become.
- ``GITHUB_STEP_SUMMARY``, ``GITHUB_ACTIONS``: the GitHub Actions job summary and annotations.

(``cli/verify.py`` still reads its realtime URLs, ``SMALLEST_REALTIME_URL`` and ``ELEVENLABS_REALTIME_URL``, itself.)

Secret values are kept out of ``repr`` so a traceback or a log line never shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from atoms_migrate.errors import ConfigError

ELEVENLABS_API_KEY = "ELEVENLABS_API_KEY"
SMALLEST_API_KEY = "SMALLEST_API_KEY"
API_KEY_VARS = (ELEVENLABS_API_KEY, SMALLEST_API_KEY)
SECRET_PREFIX = "ATOMS_MIGRATE_SECRET_"


@dataclass(frozen=True)
class Settings:
    keys: Mapping[str, str] = field(default_factory=dict, repr=False)  # API key variable -> raw value
    secret_env: Mapping[str, str] = field(default_factory=dict, repr=False)  # ATOMS_MIGRATE_SECRET_* as set
    # The base-URL options read these themselves (envvar=); kept here for a client built without the option.
    elevenlabs_base_url: str | None = None
    smallest_base_url: str | None = None
    pdf_font: str | None = None
    step_summary: Path | None = None  # $GITHUB_STEP_SUMMARY: the markdown report is appended there too
    github_actions: bool = False  # $GITHUB_ACTIONS == "true": findings also as workflow annotations

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            keys={var: env.get(var, "") for var in API_KEY_VARS},
            secret_env={k: v for k, v in env.items() if k.startswith(SECRET_PREFIX)},
            elevenlabs_base_url=env.get("ELEVENLABS_BASE_URL") or None,
            smallest_base_url=env.get("SMALLEST_BASE_URL") or None,
            pdf_font=env.get("ATOMS_MIGRATE_PDF_FONT") or None,
            step_summary=Path(env["GITHUB_STEP_SUMMARY"]) if env.get("GITHUB_STEP_SUMMARY") else None,
            github_actions=env.get("GITHUB_ACTIONS") == "true",
        )

    def has_key(self, var: str) -> bool:
        """Is the API key in ``var`` set (to something other than blanks)?"""
        return bool(self.keys.get(var, "").strip())

    def api_key(self, var: str) -> str:
        """The key in ``var``, stripped ("" when unset); one that could not be a header value is refused unechoed."""
        key = self.keys.get(var, "").strip()
        if any(c in key for c in "\r\n"):
            raise ConfigError(
                f"{var} contains a newline",
                f"Set {var} to the key alone (check how it was pasted or read from a file).",
            )
        if not key.isascii() or not key.isprintable() or " " in key:
            raise ConfigError(
                f"{var} contains a character that cannot be part of an API key (non-ASCII, a space or a control "
                "character)",
                f"Set {var} to the key alone, as copied from the vendor's dashboard.",
            )
        return key

    def secret_values(self) -> set[str]:
        """Every secret value the environment holds (API keys, ATOMS_MIGRATE_SECRET_*), as set and stripped, to
        scrub from output."""
        return {v for raw in [*self.keys.values(), *self.secret_env.values()] for v in (raw, raw.strip()) if v}
