from django.apps import AppConfig


class MappingsConfig(AppConfig):
    """Canonical model, field mappings, lookup tables and the mapping designer."""

    name = "mappings"
