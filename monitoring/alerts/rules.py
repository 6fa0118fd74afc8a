"""What each kind of rule notices, as unsaved incidents with stable keys.

Detection reads the current state of the database (not signals: the runner changes run
status with UPDATE queries, which send none), so a check missed by a stopped worker is
made by the next one, and the keys make noticing the same thing twice harmless.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.urls import NoReverseMatch

from connectors.models import Connection, IntegrationPair
from flows.models import Approval, SyncRun
from monitoring.models import AlertIncident, AlertRule

# Failures older than this (or than the rule) are history, not news.
LOOKBACK = timedelta(days=1)
FINISHED = (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED, SyncRun.Status.DEAD)
BAD = (SyncRun.Status.FAILED, SyncRun.Status.DEAD)
OPEN = ":open"


def scope_of(pair_id: int | None) -> str:
    return f"pair:{pair_id}" if pair_id else "all"


def link(obj: object) -> str:
    try:
        return obj.get_absolute_url()  # type: ignore[attr-defined]
    except NoReverseMatch:  # the page is not installed
        return ""


def incident(rule: AlertRule, pair_id: int | None, key: str, subject: str, body: str,
             url: str = "") -> AlertIncident:  # fmt: skip
    return AlertIncident(
        rule=rule, pair_id=pair_id, scope=scope_of(pair_id), key=key,
        subject=subject[:255], body=body, url=url,
    )  # fmt: skip


def runs_failed(rule: AlertRule, now: datetime) -> list[AlertIncident]:
    since = max(rule.created_at, now - LOOKBACK)
    runs = SyncRun.objects.filter(status__in=BAD, finished_at__gte=since).select_related(
        "pair", "flow_config"
    )
    if rule.pair_id:
        runs = runs.filter(pair_id=rule.pair_id)
    known = set(rule.incidents.filter(created_at__gte=since).values_list("key", flat=True))
    found = []
    for run in runs:
        key = f"run:{run.pk}:{run.attempt}:{run.status}"
        if key in known:
            continue
        what = "is dead (retries used up)" if run.status == SyncRun.Status.DEAD else "failed"
        subject = f"Run {run.pk} {what}: {run.flow_config.flow} for {run.entity_key}"
        body = (
            f"Pair: {run.pair.name}\n"
            f"{run.summary + chr(10) if run.summary else ''}"
            f"Error: {run.error_class}: {run.error_message}"
        )
        found.append(incident(rule, run.pair_id, key, subject, body, link(run)))
    return found


def connections_failing(rule: AlertRule, now: datetime) -> list[AlertIncident]:
    bad = (Connection.Status.FAILING, Connection.Status.NEEDS_REAUTH)
    connections = Connection.objects.filter(status__in=bad).defer("secrets")
    if rule.pair_id:
        connections = connections.filter(Q(crm_pairs=rule.pair_id) | Q(erp_pairs=rule.pair_id))
    found = []
    for connection in connections:
        pair_id = rule.pair_id or first_pair_of(connection)
        key = f"connection:{connection.pk}:{connection.status}{OPEN}"
        if connection.status == Connection.Status.NEEDS_REAUTH:
            subject = f"{connection.name} needs re-authorisation: its pairs are paused"
            advice = "Open the connection, reconnect or paste new credentials, then resume."
        else:
            subject = f"{connection.name} is failing its connection test"
            advice = "Open the connection and press Test to see whether it has recovered."
        body = f"{connection.last_error or 'No error text was recorded.'}\n{advice}"
        found.append(incident(rule, pair_id, key, subject, body, link(connection)))
    return found


def first_pair_of(connection: Connection) -> int | None:
    pair = IntegrationPair.objects.filter(Q(crm=connection) | Q(erp=connection)).first()
    return pair.pk if pair else None


def approvals_waiting(rule: AlertRule, now: datetime) -> list[AlertIncident]:
    approvals = Approval.objects.filter(
        status=Approval.Status.PENDING,
        created_at__lte=now - timedelta(hours=rule.waiting_hours),
    ).select_related("run__pair")
    if rule.pair_id:
        approvals = approvals.filter(run__pair_id=rule.pair_id)
    found = []
    for approval in approvals:
        hours = int((now - approval.created_at).total_seconds() // 3600)
        subject = (
            f"An order of {approval.amount} {approval.currency} has waited {hours} h for approval"
        )
        body = (
            f"Pair: {approval.run.pair.name}\nRecord: {approval.run.entity_key}\n"
            f"Why it waits: {approval.reason}\nApprove or reject it in the approval queue."
        )
        key = f"approval:{approval.pk}"
        found.append(incident(rule, approval.run.pair_id, key, subject, body, link(approval.run)))
    return found


def failure_rate(rule: AlertRule, now: datetime) -> list[AlertIncident]:
    runs = SyncRun.objects.filter(
        status__in=FINISHED, finished_at__gte=now - timedelta(minutes=rule.failure_minutes)
    )
    if rule.pair_id:
        runs = runs.filter(pair_id=rule.pair_id)
    counts = runs.values("pair_id", "pair__name").annotate(
        total=Count("pk"), bad=Count("pk", filter=Q(status__in=BAD))
    )
    found = []
    for row in counts:
        total, bad = row["total"], row["bad"]
        if total < rule.failure_min_runs or bad * 100 <= rule.failure_percent * total:
            continue
        percent = round(bad * 100 / total)
        subject = (
            f"{percent}% of runs failed on {row['pair__name']} "
            f"in the last {rule.failure_minutes} minutes"
        )
        body = (
            f"{bad} of {total} finished runs failed or died (the limit is "
            f"{rule.failure_percent}%). Look at the error queue for what they share."
        )
        found.append(incident(rule, row["pair_id"], f"rate:{row['pair_id']}{OPEN}", subject, body))
    return found


DETECTORS: dict[str, Callable[[AlertRule, datetime], list[AlertIncident]]] = {
    AlertRule.Kind.RUN_FAILED: runs_failed,
    AlertRule.Kind.CONNECTION_FAILING: connections_failing,
    AlertRule.Kind.APPROVAL_WAITING: approvals_waiting,
    AlertRule.Kind.FAILURE_RATE: failure_rate,
}
