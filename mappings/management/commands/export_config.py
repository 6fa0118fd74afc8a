"""manage.py export_config [--pair SLUG ...] [--output FILE]: configuration as JSON."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mappings.config_transfer import ConfigError, dumps, export_config, pairs_by_slug


class Command(BaseCommand):
    help = (
        "Write the mappings, lookup tables, currency rates and flow settings of pairs (all "
        "when none are named) as one JSON file; never secrets or connection settings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pair",
            action="append",
            default=[],
            metavar="SLUG",
            help="A pair's slug; repeat for more. Default: every pair.",
        )
        parser.add_argument("--output", metavar="FILE", help="Write here instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            pairs = pairs_by_slug(options["pair"])
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        text = dumps(export_config(pairs))
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        Path(options["output"]).write_text(text, encoding="utf-8")
        self.stderr.write(f"Exported {len(pairs)} pair(s) to {options['output']}.")
