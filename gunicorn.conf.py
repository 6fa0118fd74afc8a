"""gunicorn's hooks for the web process (Procfile's web line; gunicorn reads this file from
its working directory). The counts of workers and threads stay on the command line.

Once a worker has loaded the application, every object loaded so far (Django, the models,
the URL patterns: most of the heap) is moved out of the garbage collector's sight: a full
collection walked all of them, about 70 ms on the shared machine with every thread of the
worker stopped, which made the slowest webhook answers (bench/ingest.py's p99).
"""

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    gc.freeze()
