from django.apps import AppConfig


class MappingsConfig(AppConfig):
    """Canonical model, field mappings, lookup tables and the mapping designer."""

    name = "mappings"

    def ready(self) -> None:
        """Every change to a mapping, a lookup table or a rate is in the audit log."""
        from auditlog.registry import auditlog

        from mappings import models

        auditlog.register(models.Mapping)
        auditlog.register(models.MappingVersion, exclude_fields=["spec"])
        auditlog.register(models.LookupTable)
        auditlog.register(models.LookupEntry)
        auditlog.register(models.CurrencyRate)
