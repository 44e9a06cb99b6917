"""The gateway layer: the only sockets. `server.Gateway` (listener, clientId registry, pump,
routing) built with a `GatewayOptions`; one `session.Session` per connection, which talks to
the gateway only through `SessionOwner`; `pacing.PacingWindow` (pure); the request handlers
by area in `handlers/`; `dispatch.EventDispatcher` (engine events -> their audience); and
`mapping` (engine values -> wire rows, pure).
"""
