"""Planning, pure: (source agent, tables, live target config) -> ``AgentPlan`` of changes and write steps.

``planner`` (changes and steps; the migration marker), ``compare`` (value comparison, planned vs live), ``live``
(what Atoms answers on a read, turned into the planner's config shape). The value objects live in ``model`` one
level up, shared with mapping and rendering.

New kind of change or write step: ``planner`` (and ``model``). Plans are data: rendering and applying consume them.
"""
