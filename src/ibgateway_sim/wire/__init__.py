"""The TWS API wire protocol, sans-IO: `messages` (one row per message), `fieldcodec` (the one
generic walker over those rows) and `codec` (framing, the `API\\0` handshake, version
negotiation). Bytes in, messages out, and back; no socket, clock or logger.
"""
