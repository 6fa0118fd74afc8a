"""Evaluate every rule: store what it notices, then send within the throttle.

Runs as a django-q2 schedule every minute (monitoring/apps.py), and can be called
directly. Robustness comes from the database, not from timing:
- an incident is stored under a unique (rule, key) before anything is sent, so a scan that
  runs twice, or on two workers at once, notices each thing once;
- a scope (rule and pair) may send only after claiming its throttle row with a conditional
  UPDATE (last sent before the window), so at most one message per window leaves, whatever
  runs in parallel; what arrives meanwhile is held and goes out as one digest with the
  count once the window has passed.
A crash between claiming and sending loses that message, never the incident: it stays on
the alerts page.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from monitoring.alerts.channels import Message, deliver
from monitoring.alerts.rules import DETECTORS, OPEN
from monitoring.models import AlertIncident, AlertRule, AlertThrottle

DIGEST_LINES = 20


def evaluate(now: datetime | None = None) -> dict[str, int]:
    """The scheduled task: returns how many incidents were noticed and messages sent."""
    now = now or timezone.now()
    noticed = sent = 0
    for rule in AlertRule.objects.filter(enabled=True).prefetch_related("channels"):
        noticed += notice(rule, now)
        sent += dispatch(rule, now)
    return {"noticed": noticed, "sent": sent}


def notice(rule: AlertRule, now: datetime) -> int:
    found = DETECTORS[rule.kind](rule, now)
    for item in found:
        item.created_at = now
    before = rule.incidents.count()
    AlertIncident.objects.bulk_create(found, ignore_conflicts=True)
    resolve_cleared(rule, {item.key for item in found if item.key.endswith(OPEN)}, now)
    return rule.incidents.count() - before


def resolve_cleared(rule: AlertRule, still_open: set[str], now: datetime) -> None:
    """A condition that cleared frees its key, so a relapse is news again."""
    cleared = rule.incidents.filter(key__endswith=OPEN).exclude(key__in=still_open)
    for item in cleared:
        closed_key = f"{item.key.removesuffix(OPEN)}:closed:{item.pk}"
        AlertIncident.objects.filter(pk=item.pk).update(key=closed_key, resolved_at=now)


def dispatch(rule: AlertRule, now: datetime) -> int:
    held = rule.incidents.filter(notified_at__isnull=True)
    sent = 0
    for scope in held.values_list("scope", flat=True).distinct():
        incidents = claim(rule, scope, now)
        if incidents:
            sent += send(rule, incidents)
    return sent


def claim(rule: AlertRule, scope: str, now: datetime) -> list[AlertIncident]:
    """The scope's held incidents, if this caller won the right to send now; else none."""
    window_start = now - timedelta(minutes=rule.throttle_minutes)
    with transaction.atomic():
        won = AlertThrottle.objects.filter(
            rule=rule, scope=scope, last_sent_at__lte=window_start
        ).update(last_sent_at=now)
        if not won:
            try:
                with transaction.atomic():
                    AlertThrottle.objects.create(rule=rule, scope=scope, last_sent_at=now)
            except IntegrityError:  # sent within the window, or another worker just claimed
                return []
        incidents = list(
            rule.incidents.filter(scope=scope, notified_at__isnull=True)
            .select_related("pair")
            .order_by("created_at", "pk")
        )
        AlertIncident.objects.filter(pk__in=[item.pk for item in incidents]).update(notified_at=now)
    return incidents


def send(rule: AlertRule, incidents: list[AlertIncident]) -> int:
    message = compose(rule, incidents)
    for channel in rule.channels.all():
        if channel.enabled:
            deliver(channel, message)
    return 1


def compose(rule: AlertRule, incidents: list[AlertIncident]) -> Message:
    first = incidents[0]
    if len(incidents) == 1:
        return Message(first.subject, first.body, first.url, rule=rule, pair=first.pair)
    where = first.pair.name if first.pair else "all pairs"
    lines = [f"- {item.subject}" for item in incidents[:DIGEST_LINES]]
    if len(incidents) > DIGEST_LINES:
        lines.append(f"… and {len(incidents) - DIGEST_LINES} more")
    body = (
        f"{len(incidents)} alerts of “{rule.name}” were held back to keep this channel "
        f"readable (at most one message every {rule.throttle_minutes} minutes):\n"
        + "\n".join(lines)
    )
    return Message(
        f"Digest: {len(incidents)} alerts — {rule.name} on {where}",
        body,
        rule=rule,
        pair=first.pair,
        incident_count=len(incidents),
    )
