"""``verify``: conversation scripts run against the migrated agent (and the original with ``--both``).

``script`` (conversation scripts, the smoke script, per-turn expectations). The sessions themselves are
``platforms.realtime``; the fake is ``sandbox.realtime``.

New expectation kind or script format: ``script``.
"""
