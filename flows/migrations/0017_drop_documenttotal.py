"""Reconciliation compares the deal's total with the document's total before tax, which
every ERP now lists (DocumentSeen.net_total), so the first totals it kept are not needed."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("flows", "0016_reconciliation"),
    ]

    operations = [
        migrations.DeleteModel(name="DocumentTotal"),
    ]
