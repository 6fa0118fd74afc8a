import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("flows", "0013_operator_tools"),
        ("mappings", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="replay",
            field=models.ForeignKey(
                blank=True,
                help_text="The period replay that started this run, if one did.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="runs",
                to="flows.replay",
            ),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="mapping_version",
            field=models.ForeignKey(
                blank=True,
                help_text="Map with this version instead of the active one.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="mappings.mappingversion",
            ),
        ),
    ]
