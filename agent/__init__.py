"""The Clarity agent: one small signed HTTP service a customer installs beside their Sage,
through which Clarity Connect writes (reads go over ODBC, never through the agent).

It runs on the Windows PC that holds the Sage company, with only Python, werkzeug and
cheroot (no Django): `python -m agent --product sage100|sage50 --backend module:Class ...`
(see `__main__`). Every request is signed with a shared key and every write carries an
Idempotency-Key (`protocol`); the server (`server.AgentApp`) checks both, refuses a copy
of a request it took before (`replay`), runs each write at most once per key and turns
Sage's refusals into plain replies.

A product plugs in as a package with two parts: a backend contract (an `AgentBackend`
subclass naming the writes in the product's own terms, e.g. `sage100.backend`) with its
real implementation (Sage 100's BOI over COM in `sage100.boi`; the Sage 50 US SDK over
pythonnet in `sage50.sdk`), and a `ProductApi` subclass (`sage100.api`, `sage50.api`)
giving the endpoints over that backend. The sandboxes serve the same `AgentApp` and API
with a backend over their SQLite company, so the wire is the same one the real Sage sees.
"""
