"""Vendor APIs: one client module per platform, over an injected ``httpx.Client``.

``elevenlabs`` (the ElevenLabs read API), ``smallest`` (the Smallest Atoms REST API), ``realtime`` (both vendors'
realtime WebSockets), ``retry`` (reads retried with back-off honouring ``Retry-After``; writes never retried blindly),
``ratelimit`` (the request gate shared by a batch's workers).

New vendor endpoint: a method on that vendor's client here, citing the reference section. Clients never read
environment variables, never print, and import nothing of this package but ``errors`` and each other.
"""
