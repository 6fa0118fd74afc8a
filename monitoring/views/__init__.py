"""The operations pages: dashboard, runs, error queue, approvals, a pair's flows, alerts
and the audit log."""
