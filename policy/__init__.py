"""The mcp-federation policy pack: pure rule functions (one module per rule) and their pulumi-policy wrappers (pack.py).

`pulumi preview --policy-pack policy` runs `policy/__main__.py`; tests import `policy.pack.POLICIES` instead, because
constructing a `PolicyPack` starts the analyzer's gRPC server and never returns.
"""
