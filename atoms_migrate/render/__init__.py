"""Renderers: turn a ``Plan`` into what people and machines read. They never do I/O."""
