"""The Sage 100 change feed's memory moves from the connection to each poll's Watermark.

The connection's `change_feed_seen` setting is deleted, not moved: the first poll after the
upgrade re-reads its overlap window, and every change read again has the dedupe key of the
event stored for it before, so it is counted as a duplicate and starts no second run.
"""

from django.db import migrations

OLD_SETTING = "change_feed_seen"


def forget_connection_seen_sets(apps, schema_editor) -> None:
    Connection = apps.get_model("connectors", "Connection")
    # Only the settings: the secrets need not (and with a retired key could not) be decrypted.
    for connection in Connection.objects.filter(system="sage100").only("pk", "settings"):
        if OLD_SETTING in (connection.settings or {}):
            connection.settings = {k: v for k, v in connection.settings.items() if k != OLD_SETTING}
            connection.save(update_fields=["settings"])


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0003_schemacache"),
        ("flows", "0004_attempt_budget_help"),
    ]

    operations = [
        migrations.RunPython(forget_connection_seen_sets, migrations.RunPython.noop),
    ]
