"""The stock index: which open deal asks for which item, and the last quantity on hand read
per item, so a stock change reaches only the deals that hold the item."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0001_initial"),
        ("flows", "0018_rules"),
    ]

    operations = [
        migrations.CreateModel(
            name="DealItems",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("deal_key", models.CharField(max_length=255)),
                (
                    "changed",
                    models.DateTimeField(help_text="The deal's change stamp when last read."),
                ),
                ("open", models.BooleanField(default=True)),
                (
                    "lines",
                    models.JSONField(default=dict, help_text="Item code → quantity asked (text)."),
                ),
                (
                    "shown",
                    models.TextField(blank=True, help_text="The stock summary last written."),
                ),
                (
                    "pair",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="connectors.integrationpair",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("pair", "deal_key"), name="one_index_row_per_deal"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="StockLevel",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sku", models.CharField(max_length=100)),
                ("on_hand", models.DecimalField(decimal_places=4, max_digits=18)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "pair",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="connectors.integrationpair",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("pair", "sku"), name="one_stock_level_per_item")
                ],
            },
        ),
    ]
