"""What to migrate: ElevenLabs agent configs read, recognised and selected (no Atoms here).

``shapes`` (recognise every known ElevenLabs config shape and normalise it; tools directories), ``gather`` (fetch
what a config only references: tools, voices, knowledge-base documents), ``select`` (enumerate an account, a
directory or a CLI project; filters and shards; for now also the bounded worker pool).

New input shape or export format: ``shapes``. New way of choosing agents: ``select``.
"""
