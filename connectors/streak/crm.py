"""Streak in the CRM role: a deal is a box of the connection's pipeline, its account the
box's first organization, notes are comments, and the document number goes to a box field.

Streak webhooks name a stage by key, so a won deal is recognised by the trigger stage's key
in the box's pipeline; `read_deal` resolves the name through the pipeline and says which key
it found, so the flow can remember it and compare later deliveries without asking Streak.

Streak gives up on a webhook after its retries, so the won-deal flows also poll the boxes
(`feeds`): a box whose stage changed since the feed's position becomes the event its
BOX_CHANGE_STAGE delivery makes, with the same dedupe key (`pushed_event`), so a delivery
that did arrive and the poll of the same stage change are one event and one run.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from connectors.base import FeedCursor, FieldInfo, Record, RecordLink, WebhookEvent, record_link
from connectors.crm_role import CrmRole
from connectors.errors import ValidationError
from connectors.records import (
    AccountWrite,
    ContactRecord,
    DealRead,
    LoadResult,
    Person,
    StageHint,
)
from connectors.roles import (
    ACCOUNT_LOAD,
    ACCOUNT_SYNC,
    ACCOUNTS,
    CONTACTS,
    CUSTOMER_CONTACTS,
    DEAL_STAGE,
    INVOICE_FIELD,
    WON_DEALS,
    Change,
    Feed,
    task_mark,
)
from connectors.streak import contacts, deals, organizations, parties, people
from connectors.streak.client import SYSTEM
from connectors.streak.fields import to_ms
from connectors.streak.stock import StreakStock
from connectors.streak.webhooks import StreakEvent

DEAL_ID_FIELD = "Deal ID"  # the box field the won-deal flows read the deal's ID from
STAGE_CHANGE = "BOX_CHANGE_STAGE"  # the webhook event of a box moved to another stage
POLLED_STAGE_CHANGE = "streak.box_stage"  # the same stage change, found by a poll
DECODED = ("stageName", "fieldsByName")  # what `decoded_box` adds to a box as Streak sends it
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def mark(box: Record) -> str:
    """A box's change as a cursor marks it read."""
    return f"{box['key']}:{box['lastUpdatedTimestamp']}"


def mapped_field_names(paths: Iterable[str]) -> set[str]:
    """The box fields (by name) among the paths mappings read: `fieldsByName.Amount` → Amount."""
    prefix = "fieldsByName."
    return {
        path.removeprefix(prefix).split(".")[0].split("[")[0]
        for path in paths
        if path.startswith(prefix)
    }


class StreakCrm(StreakStock, CrmRole):
    capabilities = frozenset(
        {WON_DEALS, INVOICE_FIELD, ACCOUNT_SYNC, ACCOUNT_LOAD, CUSTOMER_CONTACTS}
    )
    event_kinds = {STAGE_CHANGE: DEAL_STAGE, organizations.KIND: ACCOUNTS}
    event_kinds |= dict.fromkeys(contacts.KINDS, CONTACTS)
    # A first poll starts from then: boxes won before the flow polled are not caught up on.
    feeds = {DEAL_STAGE: (Feed("Box", POLLED_STAGE_CHANGE, bare_key=True, snapshot=True),)}
    won_stage = "Closed-Won"
    deal_entity = "Box"
    account_entity = "Organization"
    note_entity = "Comment"
    document_fields = {"sales_order": "Sage Order No", "invoice": "Sage Invoice ID"}
    parties_kept_for = parties.PARTY_TTL_SECONDS  # a deal's organization and contact

    @classmethod
    def stage_hint(cls, event: WebhookEvent) -> StageHint | None:
        """A delivered or a polled stage change, both carrying the box's stage and pipeline
        at the top of the payload."""
        if event.kind not in (STAGE_CHANGE, POLLED_STAGE_CHANGE):
            return None
        payload = event.payload
        return StageHint(
            str(payload.get("stageKey") or ""),
            by_key=True,
            scope=payload.get("pipelineKey", ""),
            echo_prone=event.kind == POLLED_STAGE_CHANGE,
        )

    @classmethod
    def account_version(cls, event: WebhookEvent, crm_owned: list[str]) -> str:
        return organizations.fingerprint(event.payload.get("object") or {}, crm_owned)

    def change_of(self, entity: str, record: Record) -> Change:
        stamp = int(record["lastUpdatedTimestamp"])
        return Change(record["key"], str(stamp), datetime.fromtimestamp(stamp / 1000, UTC))

    def feed(self, entity: str, cursor: FeedCursor) -> tuple[list[Record], FeedCursor]:
        """Boxes changed at or after the cursor less those it marks as read, and the cursor
        after them: the newest change's millisecond, marking the boxes read in it, so a box
        read at the edge is not read again (a first poll's snapshot included)."""
        records = [
            box for box in self.changes(entity, cursor.since) if mark(box) not in cursor.seen
        ]
        if not records:
            return [], cursor
        newest = max(box["lastUpdatedTimestamp"] for box in records)
        since = EPOCH + timedelta(milliseconds=newest)
        seen = {mark(box) for box in records if box["lastUpdatedTimestamp"] == newest}
        if since == cursor.since:
            seen |= cursor.seen
        return records, FeedCursor(since, frozenset(seen))

    def pushed_event(self, entity: str, record: Record, since: datetime) -> WebhookEvent | None:
        """The box's last stage change as its BOX_CHANGE_STAGE delivery makes it (the box
        key, the dedupe key of box, event and the change's moment, which is the box's
        `lastUpdatedTimestamp` in that delivery), when the change is at or after `since`;
        None for a box only edited since (no webhook of the pair's tells of an edit)."""
        changed = int(record.get("lastStageChangeTimestamp") or 0)
        if entity != "Box" or changed < to_ms(since):
            return None
        box = {name: value for name, value in record.items() if name not in DECODED}
        key, pipeline_key, stage_key = box["key"], box["pipelineKey"], str(box["stageKey"])
        delivery = StreakEvent(STAGE_CHANGE, key, key, pipeline_key, stage_key, changed, box)
        return WebhookEvent(
            kind=POLLED_STAGE_CHANGE,
            entity_key=key,
            dedupe_key=delivery.dedupe_key,
            payload={
                "pipelineKey": pipeline_key,
                "stageKey": stage_key,
                "lastUpdatedTimestamp": changed,
                "object": box,
            },
        )

    # ------------------------------------------------------------ boxes as mappings read them

    @classmethod
    def record_links(
        cls, settings: dict[str, Any], entity_key: str, references: dict[str, Any]
    ) -> list[RecordLink]:
        return record_link("Streak box", settings.get("base_url", ""), "boxes", entity_key, False)

    hidden_sample_paths = ("fields.",)  # field keys; mappings read `fieldsByName`

    def field_path(self, info: FieldInfo) -> str:
        return f"fieldsByName.{info.name}" if info.custom else info.name

    def mapping_samples(self, entity: str, n: int = 5) -> list[Record]:
        """Boxes come with their first organization and contact, as `read_deal` gives them."""
        records = self.sample(entity, n)
        return [self.with_parties(box) for box in records] if entity == "Box" else records

    def with_parties(self, box: Record, kept: bool = False) -> Record:
        """The box with its first organization and first contact, as mappings read it;
        `kept`: as kept for the connection when they were read lately (`parties`)."""
        organization = self.first_linked(box, "organizations", "Organization", kept)
        return box | {
            "organization": organization,
            "contact": self.first_linked(box, "contacts", "Contact", kept),
        }

    # ------------------------------------------------------------ deals

    def read_deal(self, key: str, trigger_stage: str, fields: Iterable[str] = ()) -> DealRead:
        """A box of another pipeline than the connection's is never won, and the trigger
        stage's key is always the connection's pipeline's: an event naming any box the API
        key can read (a forged one, say) cannot make the flow follow another pipeline.
        A mapped box field the kept pipeline does not name (renamed in Streak since it was
        read) reads the pipeline again, so a long-kept pipeline never hides a rename."""
        box = self.get("Box", key)
        if any(name not in box["fieldsByName"] for name in mapped_field_names(fields)):
            self.pipeline(box["pipelineKey"], refresh=True)
            box = self.decoded_box(box)
        pipeline_key = self.pipeline_key
        trigger_key = self.stage_key(trigger_stage, pipeline_key)
        if box["pipelineKey"] != pipeline_key:
            stage = f"another pipeline ({box['pipelineKey']}) than the connection's"
            return DealRead(box, stage, False, trigger_key, pipeline_key)
        won = box["stageKey"] == trigger_key
        deal = self.with_parties(box, kept=True)
        return DealRead(deal, box["stageName"], won, trigger_key, pipeline_key)

    def first_linked(self, box: Record, listed: str, entity: str, kept: bool = False) -> Record:
        keys = [item["key"] for item in box.get(listed) or []]
        if not keys:
            return {}
        scope = self.party_scope()
        record = parties.kept(scope, entity, keys[0]) if kept and scope else None
        if record is None:
            record = self.get(entity, keys[0])
            if scope:
                parties.keep(scope, entity, keys[0], record)
        return record

    def party_scope(self) -> tuple[Any, ...]:
        """Whose organizations and contacts are kept: a saved connection's (an unsaved one,
        a form being tested, keeps none)."""
        return (self.connection.pk, str(self.connection.created_at)) if self.connection.pk else ()

    def forget_parties(self, keys: set[str]) -> None:
        """Streak said these organizations or contacts changed: read them again."""
        if scope := self.party_scope():
            parties.forget(scope, keys)

    def stage_key(self, name: str, pipeline_key: str) -> str:
        """The key of the stage `name` in the pipeline, read again once if it is missing
        (perhaps added or renamed since the pipeline was read)."""
        key = self.pipeline(pipeline_key).stage_key(name)
        if key is None:
            key = self.pipeline(pipeline_key, refresh=True).stage_key(name)
        if key is None:
            raise ValidationError(
                f"The Streak pipeline has no stage “{name}”: set the flow's trigger stage to "
                "one of its stages.",
                system=SYSTEM,
                fields={"trigger_stage": name},
            )
        return key

    def deal_stages(self) -> list[str]:
        """The stages of the connection's pipeline, in its order."""
        pipeline = self.pipeline()
        return [pipeline.stage_name(key) for key in pipeline.stage_order]

    def describe_source(self, path: str) -> str:
        if path.startswith("fieldsByName."):
            return f"the box field “{path.removeprefix('fieldsByName.')}”"
        head, _, rest = path.partition(".")
        if head in ("organization", "contact") and rest:
            return f"the {head}'s {rest.split('[')[0]}"
        return path

    def write_deal(
        self, key: str, values: dict[str, Any], idempotency_key: str, stage: str = ""
    ) -> None:
        self.write_back(key, values, stage)

    def add_note(
        self, key: str, message: str, idempotency_key: str, posted_before: bool = True
    ) -> None:
        self.add_comment(key, message, check_existing=posted_before)

    def add_task(
        self, deal_key: str, subject: str, body: str, due: date, idempotency_key: str
    ) -> str:
        """A v2 task on the box, assigned to the box's assignees (else to the connection's
        `task_assignee` email, else to nobody: the whole team sees it on the box), due at
        9:00 UTC on `due`. A task with the mark is looked for first, done or not."""
        mark = task_mark(idempotency_key)
        path = f"/v2/boxes/{quote(str(deal_key), safe='')}/tasks"
        for task in self.client.get(path).get("results") or []:
            if mark in str(task.get("text") or ""):
                return task["key"]
        box = self.get("Box", deal_key)
        emails = [entry["email"] for entry in box.get("assignedToSharingEntries") or []
                  if entry.get("email")]  # fmt: skip
        if not emails and self.settings.get("task_assignee"):
            emails = [self.settings["task_assignee"]]
        due_ms = to_ms(datetime.combine(due, time(9), UTC))
        text = f"{subject}\n{body} {mark}"
        task = {"text": text, "dueDate": due_ms,
                "assignedToSharingEntries": [{"email": email} for email in emails]}  # fmt: skip
        return self.client.post(path, task)["key"]

    def users(self) -> list[Person]:
        return people.team_users(self)

    def create_deal(self, account_key: str, values: dict[str, Any], idempotency_key: str) -> str:
        return deals.create_box(self, account_key, values)

    def find_deal(self, reference: str) -> str:
        found = self.search("Box", **{DEAL_ID_FIELD: reference})
        return found[0]["key"] if found else ""

    def deal_version(self, key: str) -> str:
        return str(self.get("Box", key).get("lastUpdatedTimestamp") or "")

    # ------------------------------------------------------------ organizations

    def read_account(self, key: str) -> Record:
        return self.get("Organization", key)

    @classmethod
    def contact_version(cls, event: WebhookEvent, crm_owned: list[str]) -> str:
        contact = contacts.contact_record(event.payload.get("object") or {})
        return contacts.fingerprint(contact, crm_owned)

    def contacts_of(self, account_key: str) -> list[ContactRecord]:
        return contacts.contacts_of(self, account_key)

    def read_contact(self, key: str) -> ContactRecord:
        return contacts.contact_record(self.get("Contact", key))

    def contact_account(self, key: str, account_keys: list[str]) -> str:
        return contacts.contact_organization(self, key, account_keys)

    def contact_version_of(self, contact: ContactRecord, crm_owned: list[str]) -> str:
        return contacts.fingerprint(contact, crm_owned)

    def write_contact(
        self, account_key: str, contact: ContactRecord, fields: list[str], idempotency_key: str
    ) -> ContactRecord:
        return contacts.write_contact(self, contact, fields, idempotency_key)

    def lacking(self, fields: list[str]) -> str:
        return f"a Streak organization has no {', '.join(fields)}"

    def account_values(self, record: Record, options: dict[str, Any]) -> dict[str, Any]:
        return organizations.organization_values(record)

    def account_version_before(self, record: Record, crm_owned: list[str]) -> str:
        """Streak echoes our write at once, perhaps before its reply is handled: the
        version is the fingerprint of the CRM-owned values, which the write leaves alone."""
        return organizations.fingerprint(record, crm_owned)

    def write_account(
        self,
        record: Record,
        values: dict[str, Any],
        erp_label: str,
        options: dict[str, Any],
        idempotency_key: str,
    ) -> AccountWrite:
        body, changed, skipped = organizations.organization_changes(
            erp_label, record, values, list(values)
        )
        if body:
            self.update("Organization", record["key"], body, idempotency_key)
        return AccountWrite(changed, skipped)

    def load_accounts(
        self, customers: list[dict[str, Any]], erp_label: str, idempotency_key: str
    ) -> list[LoadResult]:
        """Each customer an organization, found by name or created."""
        results = []
        for customer in customers:
            values = organizations.organization_of(erp_label, customer)
            made = self.create("Organization", values, f"{idempotency_key}-{customer['ref']}")
            results.append(LoadResult(made["key"]))
        return results
