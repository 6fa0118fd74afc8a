"""`manage.py run_subscribers`: follow the push streams of every CRM connection that offers
them (Salesforce Change Data Capture and platform events over the Pub/Sub API), storing each
batch with its position (flows/subscribers.py).

The name is generic on purpose: flows name no system, and one process follows the streams of
every connector that offers some. SIGTERM or SIGINT stops it within seconds; it runs under
scripts/supervise.sh, which starts it again should it exit.
"""

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from flows.subscribers import LOOK_EVERY, Subscribers

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Follow the CRM connections' push streams (Change Data Capture) into the inbox. "
        "SIGTERM stops it within seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--look-every",
            type=float,
            default=LOOK_EVERY,
            help="Seconds between looks for connections whose streams start or stop.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: stopping.set())
        logger.info("Subscribers starting")
        Subscribers(stopping, options["look_every"]).run()
        logger.info("Subscribers stopped")
