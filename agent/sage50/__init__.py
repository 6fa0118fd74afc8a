"""The agent's Sage 50 US (desktop) product: its backend contract, the SDK backend and its
HTTP endpoints."""
