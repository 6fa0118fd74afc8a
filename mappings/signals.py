"""What the mappings app hooks into when it is ready: every change to a mapping, a lookup
table or a rate is in the audit log and begins a configuration generation (runs keep them
per process), and a new pair gets the shipped default mappings, so it works before anyone
edits one."""

from auditlog.registry import auditlog
from django.db.models.signals import post_save

from connectors import configuration
from connectors.models import IntegrationPair
from mappings import models
from mappings.versions import give_new_pair_default_mappings


def connect() -> None:
    auditlog.register(models.Mapping)
    auditlog.register(models.MappingVersion, exclude_fields=["spec"])
    auditlog.register(models.LookupTable)
    auditlog.register(models.LookupEntry)
    auditlog.register(models.CurrencyRate)
    configuration.watch(
        models.Mapping, models.MappingVersion, models.LookupTable, models.LookupEntry,
        models.CurrencyRate,
    )  # fmt: skip
    post_save.connect(
        give_new_pair_default_mappings,
        sender=IntegrationPair,
        dispatch_uid="mappings.default_mappings",
    )
