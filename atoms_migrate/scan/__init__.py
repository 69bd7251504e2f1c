"""``scan``: find the ElevenLabs conversation surfaces in client code, and fix the mechanical ones.

``scanner`` (walks the files, finds each surface by file, line and column), ``fix`` (``scan --fix``: exact rewrites,
shown as a unified diff first). The patterns are data: ``mappings/scan.yaml``.

New client-code pattern: a row in ``mappings/scan.yaml``; new kind of rewrite: ``fix``.
"""
