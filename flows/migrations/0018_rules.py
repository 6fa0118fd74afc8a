"""A flow's business rules, versioned, and the approval kind a rule holds a run with."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("flows", "0017_drop_documenttotal"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RuleSetVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveIntegerField()),
                (
                    "rules",
                    models.JSONField(blank=True, default=list, help_text="The rules, in order."),
                ),
                ("comment", models.CharField(blank=True, max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "author",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "flow_config",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rule_versions",
                        to="flows.flowconfig",
                    ),
                ),
            ],
            options={"ordering": ["flow_config", "-number"]},
        ),
        migrations.AddConstraint(
            model_name="rulesetversion",
            constraint=models.UniqueConstraint(
                fields=("flow_config", "number"), name="one_rule_version_number_per_flow"
            ),
        ),
        migrations.AlterField(
            model_name="approval",
            name="kind",
            field=models.CharField(
                choices=[
                    ("threshold", "Over the threshold"),
                    ("anomaly", "Held: looks unusual"),
                    ("edit", "Edited: needs approval"),
                    ("rule", "Held by a rule"),
                ],
                default="threshold",
                max_length=10,
            ),
        ),
    ]
