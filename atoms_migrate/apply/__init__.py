"""Carrying a plan out on Smallest Atoms, and remembering what was done.

``flow`` (the one post-plan flow of ``agent``, ``all`` and ``apply``: gate, dry run, confirm, apply; ``gate``: the
``--fail-on`` gate and the error-finding refusal), ``release`` (``promote`` and ``rollback``),
``run`` (one agent from source to recorded result, shared by ``agent``, ``all`` and ``apply``), ``applier`` (the
v2 branch / v1 draft write sequence, publish, read-back), ``resources`` (voice clones and knowledge bases made
before the agent), ``documents`` (text -> PDF for knowledge bases), ``audio`` (clone samples), ``state`` (the
state file), ``statelock`` (one run at a time per state file), ``saved`` (saved-plan files: ``--out plan.json`` and
``apply plan.json``), ``sync`` (in sync, drifted or conflict: what a re-run may overwrite), ``writeforms`` (the
unproven Atoms write forms, tried and remembered per account), ``postcall`` (post-call webhooks), ``doctor``
(``doctor``'s read-only checks and the optional probe), ``migrated`` (the migrated agent ``verify`` talks to, read
live), ``status`` (``status``'s classification of each agent, reads only).

New write step or recovery: ``applier``; new org resource: ``resources``; anything persisted: ``state``.
"""
