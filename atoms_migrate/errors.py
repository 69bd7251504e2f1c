"""Our exception tree: every expected failure is a ``MigrationError`` with a hint.

The CLI has one error boundary (``cli.error_boundary``) that turns these into a one-line
message on stderr and a documented exit code. Library code never prints and never exits;
it raises one of these.
"""

from __future__ import annotations

# The documented exit codes (README "Exit codes"); 4 (the state file is locked) is ``statelock.EXIT_LOCKED``.
EXIT_ERROR = 1  # an expected failure: a MigrationError, a failed agent, a failed read-back
EXIT_CHANGES = 2  # --detailed-exitcode: the plan has changes (status: an agent not in sync)
EXIT_GATE = 3  # a --fail-on gate tripped: nothing was written
EXIT_CRASH = 70  # an unexpected exception, i.e. a bug in atoms-migrate (sysexits.h EX_SOFTWARE)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class MigrationError(Exception):
    """An expected failure the user can act on."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class Cancelled(MigrationError):
    """The user declined the confirmation: nothing was written."""

    def __init__(self) -> None:
        super().__init__("cancelled; nothing was written")


class SourceFileError(MigrationError):
    """A source file is missing, unreadable or malformed."""


class NotAnAgentConfig(MigrationError):
    """A file parsed fine but is not an ElevenLabs agent config in any shape we know."""


class MappingTableError(MigrationError):
    """A mapping table (``mappings/*.yaml``) failed validation."""

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        self.problems = problems
        summary = (
            problems[0] if len(problems) == 1 else f"{len(problems)} problems in mapping tables; first: {problems[0]}"
        )
        super().__init__(summary, hint or "Run `atoms-migrate mappings check` to list every problem.")


class ConfigError(MigrationError):
    """Missing or inconsistent settings (API key, base URL, options)."""


class ApiError(MigrationError):
    """A vendor API answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.code = code
        self.request_id = request_id
