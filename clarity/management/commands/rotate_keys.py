from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from clarity.fields import EncryptedJSONField


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of CLARITY_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, **options) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedJSONField)]
            if not fields:
                continue
            with transaction.atomic():
                for row in model._default_manager.only("pk", *fields).iterator():
                    # Reading decrypted with any key; writing encrypts with the first.
                    values = {name: getattr(row, name) for name in fields}
                    model._default_manager.filter(pk=row.pk).update(**values)
                    total += 1
            self.stdout.write(f"{model._meta.label}: re-encrypted {', '.join(fields)}")
        self.stdout.write(self.style.SUCCESS(f"{total} rows now use the first key."))
