"""Mapping, pure: a source config plus the YAML tables (``mappings/*.yaml``) gives assignments and findings.

``schema`` (pydantic models of the tables), ``tables`` (the one loader, which also checks transform names),
``context`` (``MapContext``: what a transform reads and writes through), ``numbers`` (Atoms number ranges),
``engine`` (walks the source, applies the concept rows, accounts for every leaf), ``transforms`` (the named
transforms the concept table refers to), ``webhooks``
(webhook tool -> ``api_call``), ``voices`` (catalog, traits, nearest voice), ``refs`` (secret and late-bound
references, redaction). Dotted paths into JSON trees are ``atoms_migrate.paths``, at the top: the source
reader uses them too.

New mapping rule: a row in ``mappings/*.yaml`` first; a named transform in ``transforms`` only when a row cannot
say it. Nothing here does I/O.
"""
