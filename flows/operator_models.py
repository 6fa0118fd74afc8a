"""The records of the operator tools (issue 21): a period replayed, a run's document edited by
hand, and the redeliveries the inbox answered without storing. Kept apart from flows/models.py,
which holds the run model itself; that module imports this one so Django finds them."""

from django.conf import settings
from django.db import models

from connectors.models import IntegrationPair


class Replay(models.Model):
    """Every event of a pair and flow in a date range sent through a flow again, skipping what
    is already posted: its progress, outcome counts and log lines (flows/replays.py)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="replays")
    flow = models.CharField(max_length=100)
    since = models.DateField()
    until = models.DateField()
    mapping_version = models.ForeignKey(
        "mappings.MappingVersion", on_delete=models.SET_NULL, null=True, blank=True,
        help_text="The version the runs map with; empty: each mapping's active version.",
    )  # fmt: skip
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    events = models.PositiveIntegerField(default=0, help_text="Events in the range.")
    replayed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    log = models.JSONField(default=list, blank=True, help_text="One line per event.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Replay of {self.flow} {self.since}…{self.until} ({self.status})"


class RunEdit(models.Model):
    """An operator's correction of a failed run's mapped document: who, when, each field
    before and after, and the document the retry used (flows/edits.py)."""

    run = models.ForeignKey("flows.SyncRun", on_delete=models.CASCADE, related_name="edits")
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    edited_at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(default=list, help_text="[{field, before, after}, …]")
    document = models.JSONField(default=dict, help_text="The mapped document as edited.")
    note = models.TextField(blank=True)
    needs_approval = models.BooleanField(
        default=False, help_text="An amount, quantity or price changed: an approver decides."
    )

    class Meta:
        ordering = ["-edited_at"]

    def __str__(self) -> str:
        return f"Edit of run {self.run_id} by {self.edited_by or 'someone'}"


class RedeliveryTally(models.Model):
    """Deliveries of events already stored, per pair and day: the inbox answers them without
    storing anything, so the exactly-once report counts them here."""

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pair", "day"], name="one_tally_per_pair_day")
        ]

    def __str__(self) -> str:
        return f"{self.pair_id} {self.day}: {self.count}"


class ReconciliationFinding(models.Model):
    """A difference between a won deal and its Sage document, remembered by its fingerprint:
    the nightly reconciliation alerts only on fingerprints it has not stored before, and a
    person's "reviewed" note keeps a difference known and explained (flows/reconciliation.py)."""

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=255)
    problem = models.CharField(max_length=40)
    crm_id = models.CharField(max_length=255, blank=True)
    sage_id = models.CharField(max_length=255, blank=True)
    first_seen_at = models.DateTimeField(help_text="The check that found it first.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    reviewed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "fingerprint"], name="one_finding_per_pair_fingerprint"
            )
        ]

    def __str__(self) -> str:
        return f"{self.problem} {self.crm_id or self.sage_id}"
