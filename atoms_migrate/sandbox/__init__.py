"""Local fakes of the Smallest Atoms and ElevenLabs APIs, for tests and rehearsals.

``server.Sandbox`` is the entry point; ``atoms-migrate sandbox`` serves it on 127.0.0.1. ``atoms`` (the Atoms REST
fake, traps included), ``elevenlabs`` (the read API fake), ``resources`` (knowledge bases, clones), ``realtime``
(both realtime WebSockets), ``wire`` (request and response values).

New vendor behaviour or trap: the fake of that vendor here, with a fault the tests can inject. Nothing here imports
the rest of the package.
"""
