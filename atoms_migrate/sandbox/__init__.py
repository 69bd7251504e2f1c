"""Local fakes of the Smallest Atoms and ElevenLabs APIs, for tests and rehearsals.

``server.Sandbox`` is the entry point; ``atoms-migrate sandbox`` serves it on 127.0.0.1.
"""
