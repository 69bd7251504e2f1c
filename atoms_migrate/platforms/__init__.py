"""Vendor APIs: one client module per platform, over an injected ``httpx.Client``.

``elevenlabs`` (the ElevenLabs read API), ``smallest`` (the Smallest Atoms REST API), ``realtime`` (both vendors'
realtime WebSockets), ``retry`` (reads retried with back-off honouring ``Retry-After``; writes never retried blindly),
``ratelimit`` (the request gate shared by a batch's workers), ``deadline`` (a total deadline per request, redirects
bounded), ``smallest_models`` (pydantic models of the Atoms answers of fixed shape, parsed at the client edge).

New vendor endpoint: a method on that vendor's client here, citing the reference section; a new answer of fixed
shape: a model in ``smallest_models``. Clients never read environment variables, never print, and import nothing
of this package but ``errors``, ``validation`` (the wording of a shape error) and each other.
"""
