"""manage.py import_config FILE [--dry-run]: show what changes, then save it as new versions.

The file is checked as strictly as on the import page; the command runs as the machine's
operator, so nothing is skipped for want of a permission (flow settings included)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mappings.config_transfer import (
    ConfigError,
    apply_plan,
    load,
    origin_of,
    plan_import,
    summary,
)


class Command(BaseCommand):
    help = (
        "Import a configuration export: pairs are matched by slug (unknown ones are reported, "
        "not created); changed mappings become new versions, tables, rates and flow settings "
        "take the file's values. --dry-run only shows the changes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A file written by export_config.")
        parser.add_argument("--dry-run", action="store_true", help="Show, change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            document = load(path.read_bytes())
            plan = plan_import(document, origin_of(document, path.name))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        for line in summary(plan):
            self.stdout.write(line)
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
            return
        try:
            apply_plan(plan)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        if plan.has_changes:
            self.stdout.write(self.style.SUCCESS("Imported."))
