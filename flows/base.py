"""What a flow template is: a named list of steps, and what each step is given.

A step is a plain function `step(ctx) -> dict`. Its output is stored on its `RunStep` and
handed to later steps (and to later attempts: a retry skips the steps already done and
reuses their outputs). Steps that write carry `ctx.idempotency_key(step)`, the same on every
attempt of the run, so a retried write is recognised by the system or by our own lookup.
"""

from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from connectors import configuration
from connectors.base import WebhookEvent
from connectors.crm_role import CrmRole
from connectors.erp_role import ErpRole
from connectors.registry import SYSTEMS
from connectors.roles import CAPABILITY_WORDS, TOPIC_WORDS
from connectors.services import connector_for
from flows.models import FlowConfig, SyncRun

T = TypeVar("T")
LABEL_SEPARATOR = " · "  # between the names of a run's label


class AwaitApproval(Exception):
    """Raised by a step to stop the run until an approver decides."""

    def __init__(self, amount: Any, currency: str, base_amount: Any, reason: str) -> None:
        super().__init__(reason)
        self.amount = amount
        self.currency = currency
        self.base_amount = base_amount
        self.reason = reason


class Rejected(Exception):
    """Raised by a step when an approver rejected the run; the run ends as `rejected`."""


# A step that finds nothing to do returns {NOTHING_TO_DO: why}: a polled run whose last step
# says so changed nothing, and the runs list does not keep it (`flows.polling`).
NOTHING_TO_DO = "skipped"


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[["StepContext"], dict[str, Any]]
    label: str = ""
    # A step that may take minutes (a load of every record): the results of the steps before
    # it, kept until a write (flows/step_records.py), are written before it starts, so the
    # run's page shows them while it goes.
    slow: bool = False


class StepOutputs(MutableMapping[str, dict[str, Any]]):
    """The outputs of the steps done so far, by step name. It notes which ones the running
    step reads: those are the step's input, shown on the run's page."""

    def __init__(self, outputs: dict[str, dict[str, Any]] | None = None) -> None:
        self.outputs = dict(outputs or {})
        self.read: list[str] = []

    def __getitem__(self, name: str) -> dict[str, Any]:
        output = self.outputs[name]
        if name not in self.read:
            self.read.append(name)
        return output

    def __contains__(self, name: object) -> bool:
        return name in self.outputs  # asking whether a step is done reads nothing

    def __setitem__(self, name: str, output: dict[str, Any]) -> None:
        self.outputs[name] = output

    def __delitem__(self, name: str) -> None:
        del self.outputs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.outputs)

    def __len__(self) -> int:
        return len(self.outputs)

    def start_step(self) -> None:
        self.read = []

    def read_by_step(self) -> dict[str, dict[str, Any]]:
        """What the running step has read so far, by the name of the step that wrote it."""
        return {name: self.outputs[name] for name in self.read}


@dataclass
class StepContext:
    run: "SyncRun"
    flow: "Flow"
    outputs: StepOutputs = field(default_factory=StepOutputs)
    # Run fields a step changed (label, summary, document), not yet saved: the runner writes
    # them with the step's result, in the same UPDATE (`take_unsaved`). None: saved at once
    # (a context outside a run's attempt).
    unsaved: dict[str, Any] | None = None
    # What steps work out once per attempt and share: kept for this attempt alone.
    per_attempt: dict[str, Any] = field(default_factory=dict)
    # The steps earlier attempts of the run began, whatever came of them (the runner reads
    # them with the outputs of those done); None: not read (`flows.steps.first_try` asks).
    begun: frozenset[str] | None = None

    @property
    def config(self) -> "FlowConfig":
        return self.run.flow_config

    @property
    def pair(self) -> Any:
        return self.run.pair

    def option(self, name: str) -> Any:
        return self.flow.option(self.config.options, name)

    @cached_property
    def generation(self) -> str:
        """The configuration generation this attempt works under, read once."""
        return configuration.generation()

    def kept(self, key: tuple[Any, ...], read: Callable[[], T]) -> T:
        """What the process read of the configuration (mappings, lookup tables, rates, rule
        sets, subscriptions, schemas) for `key` in this generation, else `read()`: a user's
        edit is used by the very next run (connectors/configuration.py)."""
        return configuration.kept(self.generation, key, read)

    @cached_property
    def crm(self) -> CrmRole:
        return connector_for(self.pair.crm)  # type: ignore[return-value]

    @cached_property
    def erp(self) -> ErpRole:
        return connector_for(self.pair.erp)  # type: ignore[return-value]

    def idempotency_key(self, step: str) -> str:
        """Stable for this run and step across attempts and workers."""
        return f"clarity-run-{self.run.pk}-{step}"

    def set_summary(self, summary: str) -> None:
        """The run's one line in the runs list, saved with the step's result."""
        self.save_fields({"summary": summary[:255]})

    def label_run(self, *names: str, document: str = "") -> None:
        """What people look the run up by, saved with the step's result: the record's names
        as they know them (Deal ID, deal name, customer; the empty ones left out) and the
        ERP's number of the document the run made. Either is left as it was when not given."""
        fields = {}
        if any(names):
            fields["label"] = LABEL_SEPARATOR.join(name for name in names if name)[:255]
        if document:
            fields["document"] = document[:100]
        self.save_fields(fields)

    def save_fields(self, fields: dict[str, Any]) -> None:
        """Set the fields on the run now; save them with the step's result, or at once."""
        for name, value in fields.items():
            setattr(self.run, name, value)
        if self.unsaved is not None:
            self.unsaved.update(fields)
        elif fields:
            type(self.run).objects.filter(pk=self.run.pk).update(**fields)

    def take_unsaved(self) -> dict[str, Any]:
        """The run fields changed since the last call, for the runner to write."""
        if not self.unsaved:
            return {}
        fields, self.unsaved = self.unsaved, {}
        return fields


@dataclass(frozen=True)
class Watch:
    """A change feed a polling flow reads: the feeds of `topic` that the pair's CRM or ERP
    (`side`) offers (`Role.feeds`)."""

    side: str  # "crm" or "erp"
    topic: str


@dataclass(frozen=True)
class Flow:
    """A use case, written against the roles. It is offered to a pair whose CRM and ERP have
    the capabilities it `needs`; `accepts` decides which received events start a run of it;
    a polling flow reads the feeds it `watches`."""

    name: str
    label: str
    description: str
    steps: tuple[Step, ...]
    needs_crm: frozenset[str] = frozenset()
    needs_erp: frozenset[str] = frozenset()
    trigger: str = "webhook"
    default_options: dict[str, Any] = field(default_factory=dict)
    accepts: Callable[["FlowConfig", WebhookEvent], bool] = lambda config, event: False
    watches: tuple[Watch, ...] = ()
    # Flows of one `choice` are alternatives: a pair runs one of them at a time (a won deal
    # becomes a sales order or an invoice in Sage, never both).
    choice: str = ""
    # Work a polled flow does after each successful poll besides its feeds (a daily scan).
    after_poll: Callable[["FlowConfig"], object] | None = None

    def works_for(self, crm_system: str, erp_system: str) -> bool:
        return not self.missing_for(crm_system, erp_system)

    def missing_for(self, crm_system: str, erp_system: str) -> list[str]:
        """Why a pair of these systems cannot run the flow, in words ([] when it can): a
        capability it needs that a side lacks; for a polling flow, no feed to read."""
        sides = {"crm": SYSTEMS[crm_system], "erp": SYSTEMS[erp_system]}
        needs = {"crm": self.needs_crm, "erp": self.needs_erp}
        missing = [
            f"{system.label} cannot {CAPABILITY_WORDS.get(need, need)}"
            for side, system in sides.items()
            for need in sorted(needs[side] - system.connector_class.capabilities)
        ]
        feeds = [sides[w.side].connector_class.feeds.get(w.topic) for w in self.watches]
        if self.trigger == "poll" and self.watches and not any(feeds):
            topics = " or ".join(TOPIC_WORDS.get(w.topic, w.topic) for w in self.watches)
            labels = " nor ".join(sides[w.side].label for w in self.watches)
            missing.append(f"{labels} offers no feed of {topics}")
        return missing

    def option(self, options: dict[str, Any], name: str) -> Any:
        """The option's value in `options`, or this flow's default for it."""
        return options.get(name, self.default_options.get(name))
