"""``verify``: conversation scripts run against the migrated agent (and the original with ``--both``).

``run`` (the run: sessions made through injected connectors, the script on each side, the result that
``verify --json`` prints) · ``script`` (conversation scripts, the smoke script, per-turn expectations).
The sessions themselves are ``platforms.realtime``; the fake is ``sandbox.realtime``; the command is
``cli.verify``.

New expectation kind or script format: ``script``. New field in ``verify --json``: ``run``.
"""
