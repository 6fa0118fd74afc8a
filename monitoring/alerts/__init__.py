"""Alerts: channels that deliver, rules that notice, throttling that keeps them readable."""
