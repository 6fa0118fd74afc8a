"""A run's step results on their way to the database.

A step that sent nothing that may change a system (it worked from what it had, or only
read) has its result kept, and written with the next step that did send a write, with the
run's failure or with its end: in one transaction that first fences the run
(flows/leases.owned), with one INSERT for the rows. So a won deal's dozen steps cost a few
commits, not a dozen. A crash loses nothing that matters: a step whose result was still kept
changed nothing outside, and the next attempt runs it again. A step that sent a write is
written at once, so that a retry knows it was done.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from flows.leases import owned
from flows.models import RunStep, SyncRun
from flows.redaction import redact, redact_text
from flows.rows import EncodedJSON, insert_rows


@dataclass
class StepRecords:
    """The results of `run`'s steps not written yet, and the run fields to write with them
    (its references, label, summary, document: the fencing UPDATE carries them)."""

    run: SyncRun
    rows: list[dict[str, Any]] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        order: int,
        name: str,
        status: str,
        step_input: EncodedJSON | dict[str, Any],
        output: dict[str, Any],
        error: Exception | None = None,
        duration: float = 0.0,
        **fields: Any,
    ) -> EncodedJSON:
        """Keep a step's result; `step_input` comes redacted (flows/runner.input_of), the
        output is redacted here. Returns the output as written: what later steps' inputs
        show."""
        written = EncodedJSON.of(redact(output))
        self.rows.append(
            {
                "run_id": self.run.pk,
                "attempt": self.run.attempt,
                "order": order,
                "name": name,
                "status": status,
                "input": step_input,
                "output": written,
                "error": redact_text(describe(error)) if error else "",
                "duration_ms": int(duration * 1000),
                "started_at": timezone.now() - timedelta(seconds=duration),
            }
        )
        self.fields.update(fields)
        return written

    def take_fields(self) -> dict[str, Any]:
        """The run fields to write, for a fencing UPDATE the caller makes."""
        fields, self.fields = self.fields, {}
        return fields

    def insert(self) -> None:
        """INSERT the kept rows, inside the caller's fenced transaction."""
        rows, self.rows = self.rows, []
        insert_rows(RunStep, rows)

    def write(self) -> None:
        """Write what is kept now (fenced), if anything is."""
        if self.rows or self.fields:
            with self.written():
                pass

    @contextmanager
    def written(self) -> Iterator[None]:
        """A transaction in which the run is still this attempt's (else LeaseLost and nothing
        written), the kept results and fields written in it first."""
        with owned(self.run, **self.take_fields()):
            self.insert()
            yield


def describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"
