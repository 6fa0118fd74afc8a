"""Flow settings, the inbox, runs and their steps, bindings, approvals, watermarks and stream
positions.

The run state lives here, not in the queue: django-q2 only rings the doorbell, and the
sweeper rings it again for anything due or abandoned (shared/DESIGN.md §2, §6).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse

from clarity.fields import EncryptedJSONField
from connectors.base import FeedCursor
from connectors.models import Connection, IntegrationPair

# A run or delivery still waiting in the queue this long after the sweeper rang for it is
# rung again, in case its queue row was lost.
RERING_AFTER = timedelta(minutes=5)


class FlowConfig(models.Model):
    """One flow template switched on for one pair, with its options."""

    class Trigger(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        POLL = "poll", "Polling"
        MANUAL = "manual", "Button"

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="flows")
    flow = models.CharField(max_length=50, help_text="The flow template's name.")
    enabled = models.BooleanField(default=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.WEBHOOK)
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pair", "flow"], name="one_config_per_pair_and_flow")
        ]
        ordering = ["pair", "flow"]

    def __str__(self) -> str:
        return f"{self.pair.name}: {self.flow}"


class InboundEvent(models.Model):
    """A delivery received (or a change polled), stored before it is acknowledged."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        IGNORED = "ignored", "Ignored (no flow wants it)"
        INVALID = "invalid", "Invalid (kept for inspection)"

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=20, help_text="webhook, poll or stream")
    kind = models.CharField(max_length=100, blank=True)
    dedupe_key = models.CharField(max_length=255, blank=True)
    entity_key = models.CharField(max_length=255, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    raw_body = models.TextField(blank=True, help_text="Only when the body could not be parsed.")
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Unreadable deliveries have no key (it is empty) and are all kept.
            models.UniqueConstraint(
                fields=["pair", "dedupe_key"],
                condition=~models.Q(status="invalid"),
                name="one_event_per_dedupe_key",
            )
        ]
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.kind or self.source} {self.entity_key}"


class SyncRun(models.Model):
    """One execution of a flow for one record, across all its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        RETRY_SCHEDULED = "retry_scheduled", "Retry scheduled"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Dead"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    # Runs in these states hold their entity key: later runs of the same key wait.
    ACTIVE = (Status.PENDING, Status.RUNNING, Status.RETRY_SCHEDULED, Status.AWAITING_APPROVAL)
    CLAIMABLE = (Status.PENDING, Status.RETRY_SCHEDULED)
    RETRYABLE = (Status.FAILED, Status.DEAD, Status.CANCELLED)

    flow_config = models.ForeignKey(FlowConfig, on_delete=models.CASCADE, related_name="runs")
    # Not indexed alone: `run_key` starts with the pair. Every index here is written by each
    # webhook delivery (bench/ingest.py), so a run keeps only those a query reads.
    pair = models.ForeignKey(
        IntegrationPair, on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    event = models.ForeignKey(
        InboundEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    entity_key = models.CharField(max_length=255, help_text="The CRM or Sage record it is about.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempt = models.PositiveIntegerField(default=0)
    crashes = models.PositiveIntegerField(default=0, help_text="Attempts whose lease expired.")
    attempts_before_retry = models.PositiveIntegerField(
        default=0, help_text="Attempts not counted against the budget (before a retry or progress)."
    )
    fresh_from_attempt = models.PositiveIntegerField(
        default=1, help_text="Steps of earlier attempts are not reused (retry from the start)."
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    rung_at = models.DateTimeField(
        null=True, blank=True, help_text="When the sweeper last put the run in the queue."
    )
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    error_class = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    error_detail = models.TextField(blank=True, help_text="The system's own words.")
    error_fields = models.JSONField(default=dict, blank=True)
    references = models.JSONField(
        default=dict, blank=True, help_text="What the run created: Sage order number, ids."
    )
    summary = models.CharField(max_length=255, blank=True, help_text="e.g. the customer name.")
    label = models.CharField(  # searched with icontains, which no B-tree index serves
        max_length=255, blank=True,
        help_text="What people call the record: Deal ID · deal name · customer.",
    )  # fmt: skip
    document = models.CharField(
        max_length=100, blank=True,
        help_text="The ERP's number of the document made: SO 0000217, SI-28.",
    )  # fmt: skip
    customer_key = models.CharField(  # what the anomaly checks find a customer's history by
        max_length=255, blank=True,
        help_text="The mapped deal's customer: crm:<the CRM's id>, else name:<its name>.",
    )  # fmt: skip
    progress = models.JSONField(
        default=dict, blank=True, help_text="Long runs (initial load): done, total, started."
    )
    budget_slot = models.JSONField(
        default=dict, blank=True,
        help_text="The API budget slot kept for the call the run was parked on: key, due, tokens.",
    )  # fmt: skip
    replay = models.ForeignKey(
        "flows.Replay", on_delete=models.SET_NULL, null=True, blank=True, related_name="runs",
        db_index=False, help_text="The period replay that started this run, if one did.",
    )  # fmt: skip
    mapping_version = models.ForeignKey(
        "mappings.MappingVersion", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", db_index=False,
        help_text="Map with this version instead of the active one.",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="run_due"),
            models.Index(fields=["pair", "entity_key", "status"], name="run_key"),
            models.Index(
                fields=["pair", "customer_key", "finished_at"],
                name="run_customer",
                condition=~models.Q(customer_key=""),
            ),
            # Only runs that name one: a delivery's new run writes neither.
            models.Index(
                fields=["replay"], name="run_replay", condition=models.Q(replay__isnull=False)
            ),
            models.Index(
                fields=["mapping_version"],
                name="run_mapping_version",
                condition=models.Q(mapping_version__isnull=False),
            ),
        ]
        ordering = ["-created_at"]
        permissions = [
            ("retry_syncrun", "Can retry a run"),
            ("cancel_syncrun", "Can cancel a run"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} {self.flow_config.flow} {self.entity_key} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("run-detail", args=[self.pk])


class RunStep(models.Model):
    """What one step of one attempt did: its input, output, time and error."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (done in an earlier attempt)"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="steps")
    attempt = models.PositiveIntegerField()
    order = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()

    class Meta:
        ordering = ["run", "attempt", "order"]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.attempt}.{self.order} {self.name} {self.status}"


class ExternalLink(models.Model):
    """A CRM record bound to its Sage record, per pair: the memory that prevents duplicates."""

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="links")
    entity = models.CharField(max_length=50, help_text="customer, sales_order, invoice, …")
    crm_id = models.CharField(max_length=255)
    sage_id = models.CharField(max_length=255)
    last_synced_version = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "entity", "crm_id"], name="one_link_per_crm_record"
            ),
            models.UniqueConstraint(
                fields=["pair", "entity", "sage_id"], name="one_link_per_sage_record"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.crm_id} ↔ {self.sage_id}"


class Claim(models.Model):
    """A run's hold on a CRM record while it finds or makes the record's Sage counterpart:
    two runs for one new organization (deals won together, a backlog drained by several
    workers) take turns, so Sage gets one customer. The hold lapses at `until`, so a run
    whose worker died does not block the record for ever."""

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="claims")
    entity = models.CharField(max_length=50)
    crm_id = models.CharField(max_length=255)
    run = models.ForeignKey("SyncRun", on_delete=models.CASCADE, related_name="claims")
    until = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "entity", "crm_id"], name="one_claim_per_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.crm_id} held by run {self.run_id}"


class Approval(models.Model):
    """A run stopped for an approver: its amount is over the flow's threshold, or the deal
    looks unusual (`kind`; what looked unusual in `findings`). It binds what was approved
    (`fingerprint` of the amount and lines): a run whose deal changed since asks again."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class Kind(models.TextChoices):
        THRESHOLD = "threshold", "Over the threshold"
        ANOMALY = "anomaly", "Held: looks unusual"
        EDIT = "edit", "Edited: needs approval"
        RULE = "rule", "Held by a rule"

    run = models.OneToOneField(SyncRun, on_delete=models.CASCADE, related_name="approval")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.THRESHOLD)
    findings = models.JSONField(
        default=list, blank=True, help_text="What looked unusual, one sentence each."
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    base_amount = models.DecimalField(max_digits=14, decimal_places=2)
    base_currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("decide_approval", "Can approve or reject an order")]

    def __str__(self) -> str:
        return f"Approval for run {self.run_id}: {self.amount} {self.currency} ({self.status})"


class Watermark(models.Model):
    """How far a polling flow has read, moved only after the events it covers are stored.

    `value` holds one cursor per feed (entity): `feeds` its `since` (ISO time) and `seen`
    the marks of changes taken near it, with `polled_at` and the last `error`."""

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="+")
    flow = models.CharField(max_length=50)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pair", "flow"], name="one_watermark_per_flow")
        ]

    def __str__(self) -> str:
        return f"{self.pair_id}/{self.flow}: {self.value}"

    def cursor(self, entity: str) -> FeedCursor | None:
        """Where the entity's feed stands, or None before its first poll."""
        since = (self.value.get("feeds") or {}).get(entity)
        if not since:
            return None
        seen = (self.value.get("seen") or {}).get(entity) or ()
        return FeedCursor(datetime.fromisoformat(since), frozenset(seen))

    def set_cursor(self, entity: str, cursor: FeedCursor) -> None:
        feeds = {**(self.value.get("feeds") or {}), entity: cursor.since.isoformat()}
        seen = {**(self.value.get("seen") or {}), entity: sorted(cursor.seen)}
        self.value = {**self.value, "feeds": feeds, "seen": {k: v for k, v in seen.items() if v}}


class StreamPosition(models.Model):
    """How far `run_subscribers` has stored a connection's push stream (a topic): stored in
    the transaction that stores the events before it. `position` is the system's opaque
    position ("" before the first); `updated_at` when the stream was last known caught up;
    `lost_at` when the system last refused the position, with what was done in `note`."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=255)
    position = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    lost_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "topic"], name="one_position_per_topic")
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.topic}: {self.position or 'newest'}"


class Subscription(models.Model):
    """Who wants which published events: an outside URL (signed POST) or another flow."""

    class Target(models.TextChoices):
        URL = "url", "Outside URL"
        FLOW = "flow", "Another flow"

    name = models.CharField(max_length=100)
    pair = models.ForeignKey(
        IntegrationPair, on_delete=models.CASCADE, null=True, blank=True,
        related_name="subscriptions", help_text="Empty: events of every pair.",
    )  # fmt: skip
    events = models.JSONField(
        default=list, blank=True, help_text="Event names, e.g. order.created; empty: all."
    )
    target = models.CharField(max_length=10, choices=Target.choices)
    url = models.URLField(max_length=500, blank=True)
    secrets = EncryptedJSONField(default=dict, blank=True, help_text="The HMAC secret.")
    flow = models.CharField(max_length=50, blank=True, help_text="The flow to start.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, pair: IntegrationPair, event: str) -> bool:
        return (
            self.enabled
            and self.pair_id in (None, pair.pk)
            and (not self.events or event in self.events)
        )


class Delivery(models.Model):
    """One published event on its way to one subscriber, across all its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=50)
    key = models.CharField(max_length=255, help_text="The same when a retried run publishes.")
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Due then; while a worker sends, its lease."
    )
    rung_at = models.DateTimeField(
        null=True, blank=True, help_text="When the delivery was last put in the queue."
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "pair", "event", "key"], name="one_delivery_per_event"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event} {self.key} → {self.subscription} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at a delivery: what the subscriber answered, or what went wrong."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveIntegerField()
    ok = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number} {'ok' if self.ok else 'failed'}"


# The operator tools' records live in their own module; importing them here registers them.
from flows.operator_models import RedeliveryTally, Replay, RunEdit  # noqa: E402, F401
from flows.rule_models import RuleSetVersion  # noqa: E402, F401
