"""The gateway's answers to requests, one class per area (accounts, market data, orders,
contracts, executions, the rest). Each is built with what it needs and exposes `handlers`, a
`{request type: handler}` mapping that the gateway core routes admitted requests through.
"""
