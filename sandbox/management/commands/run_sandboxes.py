import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox.core.faults import FaultSettings
from sandbox.registry import SANDBOXES, start_all


class Command(BaseCommand):
    help = "Serve local stand-ins of Streak, Sage Accounting, Salesforce and Sage 100."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--data-dir", default=str(settings.VAR_DIR / "sandbox"),
            help="Where the sandboxes keep their SQLite files (default var/sandbox).",
        )  # fmt: skip
        parser.add_argument(
            "--only", action="append", choices=[s.name for s in SANDBOXES],
            help="Start only this sandbox (repeatable).",
        )  # fmt: skip
        parser.add_argument(
            "--reset", action="store_true", help="Restore every sandbox's seed data first."
        )
        parser.add_argument(
            "--fault", action="append", default=[], metavar="SANDBOX:KNOB=VALUE",
            help="Set a fault knob at start, e.g. streak:error_rate=0.2 (repeatable).",
        )  # fmt: skip
        parser.add_argument(
            "--connect-demo", action="store_true",
            help="Join the demo pairs (seed_demo) to these sandboxes: webhooks, tokens.",
        )  # fmt: skip
        for spec in SANDBOXES:
            parser.add_argument(
                f"--{spec.name.replace('_', '-')}-port", type=int, dest=f"port_{spec.name}",
                help=f"Port of the {spec.title} sandbox (env {spec.port_env}, "
                f"default {spec.default_port}).",
            )  # fmt: skip

    def handle(self, **options) -> None:
        ports = {
            spec.name: options[f"port_{spec.name}"]
            for spec in SANDBOXES
            if options[f"port_{spec.name}"] is not None
        }
        faults = self._parse_faults(options["fault"])
        running = start_all(Path(options["data_dir"]), options["host"], ports, options["only"])
        for name, sandbox in running.items():
            if options["reset"]:
                sandbox.app.reset()
            if name in faults:
                sandbox.app.faults.configure(FaultSettings.from_dict(faults[name]))
        self.stdout.write(self.style.SUCCESS("Sandboxes running (Ctrl-C stops them):"))
        for spec in SANDBOXES:
            if spec.name in running:
                sandbox = running[spec.name]
                self.stdout.write(f"  {spec.title:<40} {sandbox.url}   {spec.credentials}")
                for line in sandbox.app.describe():
                    self.stdout.write(f"  {'':<40} {line}")
        if options["connect_demo"]:
            from sandbox.demo import connect_demo

            self.stdout.write("Demo pairs:")
            for line in connect_demo(running):
                self.stdout.write(f"  {line}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for sandbox in running.values():
                sandbox.stop()
            self.stdout.write("Sandboxes stopped.")

    @staticmethod
    def _parse_faults(specs: list[str]) -> dict[str, dict[str, str]]:
        faults: dict[str, dict[str, str]] = {}
        for spec in specs:
            try:
                name, assignment = spec.split(":", 1)
                knob, value = assignment.split("=", 1)
            except ValueError:
                raise CommandError(f"--fault {spec!r}: use SANDBOX:KNOB=VALUE") from None
            faults.setdefault(name, {})[knob] = value
        return faults
