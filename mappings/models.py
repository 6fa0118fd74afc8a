"""Mappings, their versions, lookup tables and currency rates.

A mapping's rules live only in its versions' JSON snapshots: a version is what ran, what a
diff compares and what a restore copies, so there is no second copy of the rules to drift.
"""

from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from connectors.models import IntegrationPair


class Mapping(models.Model):
    """One record shape turned into another, for one pair and one direction."""

    class Direction(models.TextChoices):
        IN = "in", "In: system → canonical"
        OUT = "out", "Out: canonical → system"

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="mappings")
    name = models.CharField(max_length=100)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    system = models.CharField(
        max_length=20, help_text="The system on the non-canonical side (streak, sage100, …)."
    )
    source_entity = models.CharField(max_length=100)
    target_entity = models.CharField(max_length=100)
    active_version = models.ForeignKey(
        "MappingVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pair", "direction", "name"]
        constraints = [
            models.UniqueConstraint(fields=["pair", "name"], name="mapping_name_unique_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.pair}: {self.name}"


class MappingVersion(models.Model):
    """An immutable snapshot of a mapping's rules; saving makes the next one."""

    mapping = models.ForeignKey(Mapping, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    spec = models.JSONField(help_text="The full rule set, as `mappings.engine` reads it.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["mapping", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["mapping", "number"], name="version_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.mapping.name} v{self.number}"


class LookupTable(models.Model):
    """Key → value rows (ProductCode → ItemCode, terms → TermsCode); global when no pair."""

    class OnMiss(models.TextChoices):
        ERROR = "error", "Error: stop the record"
        DEFAULT = "default", "Use the default value (with a warning)"
        PASS_THROUGH = "pass_through", "Pass the value through unchanged"
        CREATE = "create", "Add the value as a new row, pass it through, and warn"

    pair = models.ForeignKey(
        IntegrationPair,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="lookup_tables",
        help_text="Empty = a global table every pair can use; a pair's own table wins.",
    )
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    on_miss = models.CharField(max_length=20, choices=OnMiss.choices, default=OnMiss.ERROR)
    default_value = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["pair", "name"], name="lookup_name_unique_per_pair"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(pair__isnull=True), name="global_lookup_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LookupEntry(models.Model):
    table = models.ForeignKey(LookupTable, on_delete=models.CASCADE, related_name="entries")
    key = models.CharField(max_length=200)
    value = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["table", "key"]
        verbose_name_plural = "lookup entries"
        constraints = [
            models.UniqueConstraint(fields=["table", "key"], name="lookup_key_unique_per_table")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.value}"


class CurrencyRate(models.Model):
    """1 `from_currency` = `rate` `to_currency`, from `as_of` on; a pair's rate wins."""

    pair = models.ForeignKey(
        IntegrationPair,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="currency_rates",
        help_text="Empty = used by every pair without its own rate.",
    )
    from_currency = models.CharField(max_length=3)
    to_currency = models.CharField(max_length=3)
    rate = models.DecimalField(
        max_digits=18, decimal_places=8, validators=[MinValueValidator(0.00000001)]
    )
    as_of = models.DateField()

    class Meta:
        ordering = ["from_currency", "to_currency", "-as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "from_currency", "to_currency", "as_of"], name="one_rate_a_day"
            ),
            models.UniqueConstraint(
                fields=["from_currency", "to_currency", "as_of"],
                condition=Q(pair__isnull=True),
                name="one_global_rate_a_day",
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.from_currency} = {self.rate} {self.to_currency} ({self.as_of})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.from_currency = self.from_currency.upper()
        self.to_currency = self.to_currency.upper()
        super().save(*args, **kwargs)
