"""atoms-migrate: move ElevenLabs Conversational AI agents to Smallest AI Atoms.

Reading, mapping and planning are pure functions returning values (see ``plan``);
rendering and, later, applying consume the plan. The CLI in ``cli`` is the only place
that performs I/O decisions or chooses an exit code.
"""

__version__ = "0.1.0"
