"""The operations pages: dashboard, runs, error queue, approvals and a pair's flows."""
