"""The agent's Sage 100 product: its backend contract, the BOI backend over COM and its HTTP
endpoints."""
