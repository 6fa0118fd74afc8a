"""Alert channels and rules, what they noticed (incidents), what was sent (deliveries); how
people closed runs in the error queue (resolutions)."""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils import timezone

from clarity.fields import EncryptedJSONField
from clarity.models import OutboxMessage
from connectors.models import IntegrationPair
from flows.models import SyncRun


class AlertChannel(models.Model):
    """Where alerts go: email addresses, a Slack incoming webhook, or any signed webhook."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack incoming webhook"
        WEBHOOK = "webhook", "Webhook (HMAC-signed)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    settings = models.JSONField(
        default=dict, blank=True, help_text="email: recipients; webhook: url."
    )
    secrets = EncryptedJSONField(
        default=dict, blank=True, help_text="slack: url; webhook: signing secret. Never shown."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class AlertRule(models.Model):
    """What is worth telling someone about, for one pair or for all of them."""

    class Kind(models.TextChoices):
        RUN_FAILED = "run_failed", "Run failed or dead"
        CONNECTION_FAILING = "connection_failing", "Connection failing or needs re-auth"
        APPROVAL_WAITING = "approval_waiting", "Approval waiting too long"
        FAILURE_RATE = "failure_rate", "Failure rate too high"
        OUTAGE = "outage", "System unreachable, and back again"
        RECONCILIATION = "reconciliation", "New reconciliation differences"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    pair = models.ForeignKey(
        IntegrationPair,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
        help_text="Leave empty for every pair.",
    )
    channels = models.ManyToManyField(AlertChannel, related_name="rules")
    waiting_hours = models.PositiveIntegerField(
        default=4, help_text="Approval waiting: alert after this many hours."
    )
    failure_percent = models.PositiveIntegerField(
        default=20, help_text="Failure rate: alert above this share of finished runs."
    )
    failure_minutes = models.PositiveIntegerField(
        default=60, help_text="Failure rate: over this many minutes."
    )
    failure_min_runs = models.PositiveIntegerField(
        default=5, help_text="Failure rate: only once at least this many runs finished."
    )
    throttle_minutes = models.PositiveIntegerField(
        default=30,
        help_text="At most one message per pair in this window; the rest come as a digest.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AlertIncident(models.Model):
    """One thing a rule noticed, stored once (unique key) before anything is sent.

    Open conditions (a failing connection, a high failure rate) use a key ending in
    ":open" until they clear, so a condition that lasts is reported once.
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="incidents")
    pair = models.ForeignKey(
        IntegrationPair, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    scope = models.CharField(max_length=50, help_text="Throttling unit: pair:<id> or all.")
    key = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="Empty while held.")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "key"], name="one_incident_per_rule_key")
        ]
        indexes = [models.Index(fields=["rule", "scope", "notified_at"], name="incident_held")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class AlertThrottle(models.Model):
    """When a rule last sent a message for a scope; claimed with a conditional UPDATE."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=50)
    last_sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "scope"], name="one_throttle_per_scope")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.scope}: {self.last_sent_at}"


class AlertDelivery(models.Model):
    """One message to one channel: kept, sent or not, so every alert can be looked up. An
    email is `queued` in the outbox; its `mail` says whether it has left since."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        QUEUED = "queued", "Queued as e-mail"
        FAILED = "failed", "Failed"

    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    channel = models.ForeignKey(
        AlertChannel, on_delete=models.SET_NULL, null=True, related_name="deliveries"
    )
    pair = models.ForeignKey(
        IntegrationPair, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(max_length=255)
    body = models.TextField()
    incident_count = models.PositiveIntegerField(default=1, help_text="More than 1: a digest.")
    is_test = models.BooleanField(default=False)
    sent_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices)
    error = models.TextField(blank=True)
    mail = models.ForeignKey(
        OutboxMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "-pk"]
        verbose_name_plural = "alert deliveries"

    def __str__(self) -> str:
        return f"{self.subject} → {self.channel} ({self.status})"


class Resolution(models.Model):
    """A person took a run out of the error queue, saying why: resolved (the cause was dealt
    with outside Clarity, e.g. the order keyed into Sage by hand) or dismissed (nothing to
    do). It stands while the run is unchanged since: a run retried later that fails again is
    back in the queue."""

    class Kind(models.TextChoices):
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="resolutions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    note = models.TextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["run", "at"], name="resolution_run_at")]
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"Run {self.run_id} {self.kind}: {self.note[:60]}"

    @staticmethod
    def standing() -> Exists:
        """For a SyncRun queryset: whether someone closed the run since it last changed."""
        return Exists(Resolution.objects.filter(run=OuterRef("pk"), at__gte=OuterRef("updated_at")))
