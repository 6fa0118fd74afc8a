"""Connections to outside systems, and the integration pairs that join a CRM to an ERP."""

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from clarity.fields import EncryptedJSONField
from connectors.registry import CRM, ERP, SYSTEM_CHOICES, SYSTEMS, pair_combinations


class Connection(models.Model):
    """Credentials and settings for one account of one system (a Streak team, a Sage company)."""

    class Status(models.TextChoices):
        UNKNOWN = "unknown", "Not tested"
        OK = "ok", "OK"
        FAILING = "failing", "Failing"
        NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"

    name = models.CharField(max_length=100, unique=True)
    system = models.CharField(max_length=20, choices=SYSTEM_CHOICES)
    settings = models.JSONField(default=dict, blank=True)
    secrets = EncryptedJSONField(default=dict, blank=True)
    secrets_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNKNOWN)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Health from traffic (`connectors.services.record_outcome`): every call's outcome.
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    unreachable_since = models.DateTimeField(
        null=True, blank=True, help_text="Calls fail for want of an answer since then."
    )
    failing_call = models.CharField(
        max_length=200,
        blank=True,
        help_text="The work whose failure began the outage (a run's step, a poll, a stream): "
        "it getting an answer ends the outage.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("test_connection", "Can test a connection's credentials")]

    def __str__(self) -> str:
        return f"{self.name} ({self.system_label})"

    def get_absolute_url(self) -> str:
        return reverse("connection-detail", args=[self.pk])

    @property
    def system_label(self) -> str:
        return SYSTEMS[self.system].label

    @property
    def side(self) -> str:
        return SYSTEMS[self.system].side

    def set_secrets(self, changes: dict[str, str]) -> None:
        """Replace the named secrets; absent or empty values keep the stored ones."""
        changes = {key: value for key, value in changes.items() if value}
        if changes:
            self.secrets = {**(self.secrets or {}), **changes}
            self.secrets_changed_at = timezone.now()


class SchemaCache(models.Model):
    """An entity's fields as last discovered from the system; refreshed on demand."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="schemas")
    entity = models.CharField(max_length=100)
    fields = models.JSONField(default=list)
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "entity"], name="one_schema_per_entity")
        ]

    def __str__(self) -> str:
        return f"{self.connection.name}: {self.entity}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class IntegrationPair(models.Model):
    """One CRM joined to one ERP: the unit that flows, mappings and runs belong to."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=100, unique=True, blank=True, help_text="Made from the name; part of URLs."
    )
    crm = models.ForeignKey(
        Connection, on_delete=models.PROTECT, related_name="crm_pairs", verbose_name="CRM"
    )
    erp = models.ForeignKey(
        Connection, on_delete=models.PROTECT, related_name="erp_pairs", verbose_name="ERP"
    )
    base_currency = models.CharField(
        max_length=3, default="USD", help_text="ISO 4217 code amounts are converted to."
    )
    enabled = models.BooleanField(default=True)
    webhook_token_hash = models.CharField(max_length=64, editable=False)
    webhook_token_changed_at = models.DateTimeField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("pause_integrationpair", "Can pause and resume a pair's flows")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:
            self.slug = slugify(self.name)[:100]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("pair-detail", args=[self.slug])

    def clean(self) -> None:
        errors: dict[str, str] = {}
        combos = ", ".join(pair_combinations())
        if self.crm_id and self.crm.side != CRM:
            errors["crm"] = (
                f"{self.crm.name} is a {self.crm.system_label} connection, which is not a "
                f"CRM. A pair joins one of: {combos}."
            )
        if self.erp_id and self.erp.side != ERP:
            errors["erp"] = (
                f"{self.erp.name} is a {self.erp.system_label} connection, which is not an "
                f"ERP. A pair joins one of: {combos}."
            )
        if not self.slug:
            self.slug = slugify(self.name)[:100]
        if not self.slug:
            errors["name"] = "Use at least one letter or digit: the name makes the pair's URL."
        elif IntegrationPair.objects.filter(slug=self.slug).exclude(pk=self.pk).exists():
            errors["name"] = f"Another pair already uses the URL name “{self.slug}”."
        self.base_currency = (self.base_currency or "").upper()
        if len(self.base_currency) != 3 or not self.base_currency.isalpha():
            errors["base_currency"] = "Use a three-letter ISO 4217 code, such as USD or EUR."
        if errors:
            raise ValidationError(errors)

    def rotate_webhook_token(self) -> str:
        """Set a new webhook token and return it: the only time it is ever readable."""
        token = secrets.token_urlsafe(32)
        self.webhook_token_hash = hash_token(token)
        self.webhook_token_changed_at = timezone.now()
        return token

    def webhook_token_matches(self, token: str) -> bool:
        return secrets.compare_digest(self.webhook_token_hash, hash_token(token))

    @property
    def webhook_base_url(self) -> str:
        """Every webhook URL this pair ever issued starts with this."""
        return f"{settings.CLARITY_PUBLIC_URL.rstrip('/')}/hooks/{self.slug}/"

    def webhook_url(self, token: str) -> str:
        """Where the CRM posts events; the token is known only right after it is issued."""
        return f"{self.webhook_base_url}{token}/"


class ApiCallCount(models.Model):
    """Calls made to one system with one outcome, summed over every process since install.

    Each process counts in memory and adds its counts here now and then
    (`connectors.metering`), so `/metrics` in the web process sees the workers' calls."""

    system = models.CharField(max_length=50, help_text="A system key, e.g. streak or sage100.")
    outcome = models.CharField(max_length=20)
    calls = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "outcome"], name="one_count_per_outcome")
        ]
        ordering = ["system", "outcome"]

    def __str__(self) -> str:
        return f"{self.system} {self.outcome}: {self.calls}"


class ApiBudget(models.Model):
    """One connection's rate limit as a token bucket every process and host takes from
    (`connectors.budgets`), so N workers together send no more than the system allows.

    A bucket rather than a sliding-window counter: one row, one update per take, and bursts
    up to `capacity` as the systems themselves allow. Times are epoch seconds (floats):
    the refill needs sub-second precision and arithmetic in SQL-free Python."""

    key = models.CharField(max_length=200, unique=True, help_text="The client's throttle key.")
    connection = models.ForeignKey(
        Connection,
        on_delete=models.CASCADE,
        null=True,
        db_constraint=False,  # taken from its own transaction, which may not see the row yet
        related_name="api_budgets",
    )
    rate = models.FloatField(help_text="Tokens a second.")
    capacity = models.FloatField(help_text="The most tokens kept: the burst allowed.")
    tokens = models.FloatField()
    refilled_at = models.FloatField(help_text="When `tokens` was right (epoch seconds).")
    window_started = models.FloatField(default=0.0)
    window_taken = models.PositiveIntegerField(default=0)
    last_window_rate = models.FloatField(default=0.0)
    holders = models.TextField(default="{}", help_text="JSON: process → when it last took.")

    def __str__(self) -> str:
        return f"{self.key}: {self.rate:g}/s"


class ConfigurationGeneration(models.Model):
    """One row whose token changes with every change to what runs read about how to run
    (`connectors.configuration`): processes keep what they read under it."""

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.token
