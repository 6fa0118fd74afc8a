"""What each kind of rule notices, as unsaved incidents with stable keys.

Detection reads the current state of the database (not signals: the runner changes run
status with UPDATE queries, which send none), so a check missed by a stopped worker is
made by the next one, and the keys make noticing the same thing twice harmless.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from connectors.models import Connection, IntegrationPair
from flows.models import Approval, SyncRun
from flows.operator_models import ReconciliationFinding
from flows.reconciliation import PROBLEMS
from monitoring.models import AlertIncident, AlertRule
from monitoring.outages import Outage, current_outages

# Failures older than this (or than the rule) are history, not news.
LOOKBACK = timedelta(days=1)
FINISHED = (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED, SyncRun.Status.DEAD)
BAD = (SyncRun.Status.FAILED, SyncRun.Status.DEAD)
OPEN = ":open"
OUTAGE = "outage:"  # keys of outages: outage:<connection>:<unreachable since, epoch>:open
BACK = ":back"  # the throttling scope of returns, beside their outage's
OUTAGE_NEWS_AFTER = timedelta(minutes=1)


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
        elif connection.unreachable_since:
            since = timezone.localtime(connection.unreachable_since)
            subject = f"{connection.name} is unreachable since {since:%H:%M %Z}"
            advice = "Clarity retries on its own; press Test on the connection to check it now."
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


def systems_unreachable(rule: AlertRule, now: datetime) -> list[AlertIncident]:
    """A system out for OUTAGE_NEWS_AFTER (a blip is not news), and its return. Returns go
    in a throttling scope of their own, so one is not held back behind the outage's message;
    a flapping system still sends at most one of each per window."""
    current = {outage.connection.pk: outage for outage in current_outages(rule.pair)}
    found = [
        outage_incident(rule, outage)
        for outage in current.values()
        if outage.since <= now - OUTAGE_NEWS_AFTER
    ]
    for item in rule.incidents.filter(key__startswith=OUTAGE, key__endswith=OPEN):
        _, connection_id, since = item.key.removesuffix(OPEN).split(":")
        connection = Connection.objects.filter(pk=connection_id).defer("secrets").first()
        if connection is not None and int(connection_id) not in current:
            found.append(return_incident(rule, item, connection, since, now))
    return found


def outage_incident(rule: AlertRule, outage: Outage) -> AlertIncident:
    connection = outage.connection
    pair_id = rule.pair_id or next(iter(outage.pair_ids), None)
    key = f"{OUTAGE}{connection.pk}:{int(outage.since.timestamp())}{OPEN}"
    subject = f"{outage.system} unreachable since {outage.since_words} — {outage.waiting}"
    body = (
        f"{outage.system} has not answered since {outage.since_words}."
        f"{' Last error: ' + connection.last_error if connection.last_error else ''}\n"
        f"{outage.waiting.capitalize()}: Clarity retries them on its own and tells each deal's "
        "owner in the CRM. The error queue lists them."
    )
    return incident(rule, pair_id, key, subject, body, error_queue_url())


def return_incident(rule: AlertRule, item: AlertIncident, connection: Connection, since: str,
                    now: datetime) -> AlertIncident:  # fmt: skip
    """The system answers again: the outage `item` reported is over."""
    began = datetime.fromtimestamp(int(since), tz=UTC)
    back = connection.last_success_at or now
    minutes = max(1, round((back - began).total_seconds() / 60))
    system = f"{connection.system_label} ({connection.name})"
    subject = f"{system} answers again after {minutes} min unreachable"
    body = (
        f"{system} was unreachable from {timezone.localtime(began):%Y-%m-%d %H:%M} to "
        f"{timezone.localtime(back):%H:%M %Z}. Runs waiting for it go on at their next try; "
        "the error queue shows any that still wait."
    )
    found = incident(rule, item.pair_id, f"back:{connection.pk}:{since}", subject, body,
                     error_queue_url())  # fmt: skip
    found.scope = f"{item.scope}{BACK}"
    return found


def error_queue_url() -> str:
    try:
        return reverse("error-queue")
    except NoReverseMatch:  # the page is not installed
        return ""


def reconciliation_differences(rule: AlertRule, now: datetime) -> list[AlertIncident]:
    """The differences a nightly reconciliation found for the first time, one incident per
    pair and night: a difference seen before was stored then, so it is never news again."""
    findings = ReconciliationFinding.objects.filter(
        first_seen_at__gte=max(rule.created_at, now - LOOKBACK), reviewed_at__isnull=True
    ).select_related("pair")
    if rule.pair_id:
        findings = findings.filter(pair_id=rule.pair_id)
    nights: dict[tuple[int, datetime], list[ReconciliationFinding]] = {}
    for finding in findings:
        nights.setdefault((finding.pair_id, finding.first_seen_at), []).append(finding)
    found = []
    for (pair_id, seen_at), group in nights.items():
        pair = group[0].pair
        counts = {key: sum(1 for item in group if item.problem == key) for key in PROBLEMS}
        words = ", ".join(f"{count} {PROBLEMS[key]}" for key, count in counts.items() if count)
        noun = "difference" if len(group) == 1 else "differences"
        subject = f"{len(group)} new {noun} on {pair.name}: {words}"
        body = "\n".join(
            f"- {PROBLEMS.get(item.problem, item.problem)}: {item.crm_id or '(no deal)'} / "
            f"{item.sage_id or '(no Sage document)'}"
            for item in group
        )
        body += "\nOpen the pair's reconciliation to repair them or mark them reviewed."
        key = f"reconciliation:{pair_id}:{int(seen_at.timestamp() * 1_000_000)}"
        found.append(incident(rule, pair_id, key, subject, body, reconciliation_url(pair)))
    return found


def reconciliation_url(pair: IntegrationPair) -> str:
    try:
        return reverse("pair-reconciliation", args=[pair.slug])
    except NoReverseMatch:  # the page is not installed
        return ""


DETECTORS: dict[str, Callable[[AlertRule, datetime], list[AlertIncident]]] = {
    AlertRule.Kind.RUN_FAILED: runs_failed,
    AlertRule.Kind.CONNECTION_FAILING: connections_failing,
    AlertRule.Kind.APPROVAL_WAITING: approvals_waiting,
    AlertRule.Kind.FAILURE_RATE: failure_rate,
    AlertRule.Kind.OUTAGE: systems_unreachable,
    AlertRule.Kind.RECONCILIATION: reconciliation_differences,
}
