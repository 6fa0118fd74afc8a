from django.apps import AppConfig


class MappingsConfig(AppConfig):
    """Canonical model, field mappings, lookup tables and the mapping designer."""

    name = "mappings"

    def ready(self) -> None:
        """Connect the app's hooks (mappings/signals.py), which need the models."""
        from mappings import signals

        signals.connect()
