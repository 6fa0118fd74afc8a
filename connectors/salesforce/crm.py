"""Salesforce in the CRM role. A deal is an Opportunity or an Order (`deals`): the
connection's `won_deal_sources` ("opportunities", the default, "orders" or "both") says which
start the won-deal flows. An opportunity is won in Closed Won, an order once Activated.

`read_deal` reads every field the pair's mappings name, however deep: custom fields, parents
(`Account.Owner.Name`), the lines' fields (`PricebookEntry.Product2.Family`) and the
contact's; each is checked against the org's describe first (`soql.select_list`), so a name
the org lacks is left out and none reaches a query unchecked.

Notes are completed Tasks on the deal; the account is the Account, upserted by
`ExternalID__c` in bulk loads (`accounts`); products are Product2 records with their list
prices in the standard price book (`products`).
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.utils import timezone

from connectors.base import FeedCursor, Record, WebhookEvent, parse_moment
from connectors.crm_role import CrmRole
from connectors.errors import NotFound, ValidationError
from connectors.records import (
    ContactRecord,
    DealRead,
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
    ITEM_RECORDS,
    WON_DEALS,
    Change,
    Feed,
    task_mark,
)
from connectors.salesforce import contacts, parties
from connectors.salesforce.accounts import DEFAULT_ACCOUNT_FIELDS, SalesforceAccounts
from connectors.salesforce.composite import note_task, write_opportunity_noted
from connectors.salesforce.deal_create import create_opportunity
from connectors.salesforce.deals import (
    ACCOUNT_FIELDS,
    CONTACT_FIELDS,
    DEALS,
    OPPORTUNITY,
    ORDER,
    ORDER_WON_STATUS,
    POLLED_OPPORTUNITY,
    POLLED_ORDER,
    RECORD_ID,
    WON_DEAL_SOURCES,
    DealObject,
    Wanted,
    deal_object,
    opportunity_shaped,
    task_subject,
    wanted,
)
from connectors.salesforce.oauth import SYSTEM
from connectors.salesforce.people import active_users
from connectors.salesforce.products import load_products
from connectors.salesforce.soql import select_list, soql_literal
from connectors.salesforce.stock import SalesforceStock

POLLED_ACCOUNT = "salesforce.account"


class SalesforceCrm(SalesforceAccounts, SalesforceStock, CrmRole):
    capabilities = frozenset(
        {WON_DEALS, INVOICE_FIELD, ACCOUNT_SYNC, ACCOUNT_LOAD, ITEM_RECORDS, CUSTOMER_CONTACTS}
    )
    notes_with_writes = True  # an opportunity's write-back and note: one Composite request
    parties_kept_for = parties.PARTY_TTL_SECONDS  # a deal's contact (its account: never)
    feeds = {
        CONTACTS: (contacts.FEED,),
        DEAL_STAGE: (
            Feed(OPPORTUNITY, POLLED_OPPORTUNITY, bare_key=True),
            Feed(ORDER, POLLED_ORDER, bare_key=True),
        ),
        ACCOUNTS: (Feed("Account", POLLED_ACCOUNT, record="account"),),
    }
    event_kinds = {"OutboundMessage:Opportunity": DEAL_STAGE, "OutboundMessage:Order": DEAL_STAGE}
    won_stage = "Closed Won"
    deal_entity = OPPORTUNITY  # an Order is handed over in its shape
    account_entity = "Account"
    item_entity = "Product2"
    document_fields = {"sales_order": "Sage_Order_No__c", "invoice": "Sage_Invoice_No__c"}
    account_fields = DEFAULT_ACCOUNT_FIELDS
    load_batch = 200  # sObject Collections take 200 records a call

    @classmethod
    def stage_hint(cls, event: WebhookEvent) -> StageHint | None:
        """What the event says of its deal's stage: an Outbound Message or a change event
        carries fields (a change event only those that changed), a polled change is the
        record itself. An order's stage is its Status; an activated order is won."""
        deal = deal_object(event.entity_key)
        fields = event.payload.get("fields") or event.payload
        if deal.stage_field not in fields:
            return None
        stage = str(fields[deal.stage_field])
        if deal.name == ORDER and stage == ORDER_WON_STATUS:
            stage = cls.won_stage
        return StageHint(stage, echo_prone=event.kind == deal.polled)

    @classmethod
    def account_version(cls, event: WebhookEvent, crm_owned: list[str]) -> str:
        return str(event.payload.get("SystemModstamp") or "")

    def change_of(self, entity: str, record: Record) -> Change:
        stamp = record["SystemModstamp"]
        return Change(record["Id"], stamp, parse_moment(stamp))

    def won_deal_objects(self) -> tuple[str, ...]:
        """The objects whose deals start the won-deal flows (`won_deal_sources`)."""
        return WON_DEAL_SOURCES.get(
            self.settings.get("won_deal_sources") or "", WON_DEAL_SOURCES["opportunities"]
        )

    def feed(self, entity: str, cursor: FeedCursor) -> tuple[list[Record], FeedCursor]:
        """The changes after the cursor by SystemModstamp, and the cursor after them. A deal
        object the connection's won deals do not come from is not read, and its cursor
        moves to now: turning it on later starts from then, not from months of old orders."""
        if entity in DEALS and entity not in self.won_deal_objects():
            return [], FeedCursor(max(cursor.since, datetime.now(UTC)))
        records = list(self.changes(entity, cursor.since))
        newest = max((parse_moment(r["SystemModstamp"]) for r in records), default=cursor.since)
        return records, FeedCursor(newest)

    # ------------------------------------------------------------ deals

    def read_deal(self, key: str, trigger_stage: str, fields: Iterable[str] = ()) -> DealRead:
        deal = deal_object(key)
        paths = wanted(fields)
        with self.client.batch():
            record = self.read_record(deal, key, paths)
            contact = self.contact_of(record, paths.contact)
        if deal.name == OPPORTUNITY:
            stage = record["StageName"]
            return DealRead(record | {"Contact": contact}, stage, stage == trigger_stage)
        return self.order_read(opportunity_shaped(record, contact), trigger_stage)

    def read_record(self, deal: DealObject, key: str, paths: Wanted) -> Record:
        """The deal with its standard fields, its Account's, the mapped ones, and its lines;
        the names are checked against the describes (`describes`: kept per connection)."""

        def soql() -> str:
            account = [f"Account.{name}" for name in ACCOUNT_FIELDS]
            columns = select_list(
                self.known_fields, deal.name, (*deal.fields, *account), paths.deal, deal.never
            )
            line_columns = select_list(
                self.known_fields, deal.line_object, deal.line_fields, paths.lines
            )
            lines = f"(SELECT {', '.join(line_columns)} FROM {deal.lines})"
            literal = soql_literal(key, "id")
            return f"SELECT {', '.join(columns)}, {lines} FROM {deal.name} WHERE Id = {literal}"

        found = list(self.read_fresh(soql))
        if not found:
            raise ValidationError(
                f"Salesforce has no {deal.noun} {key} (deleted since the message?).",
                system=SYSTEM,
            )
        return found[0]

    def contact_of(self, record: Record, extra: set[str]) -> Record:
        """The order's bill-to contact, else the account's first contact, with the mapped
        fields; {} when there is none."""
        columns = select_list(self.known_fields, "Contact", ("Id", *CONTACT_FIELDS), extra)
        if record.get("BillToContactId"):
            where = f"Id = {soql_literal(record['BillToContactId'], 'id')}"
        elif record.get("AccountId"):
            where = f"AccountId = {soql_literal(record['AccountId'], 'id')}"
        else:
            return {}
        scope = self.party_scope()
        found = parties.kept(scope, where, tuple(columns)) if scope else None
        if found is None:
            soql = f"SELECT {', '.join(columns)} FROM Contact WHERE {where} LIMIT 1"
            found = next(iter(self.query(soql)), {})
            if scope and found:
                account = str(record.get("AccountId") or "")
                contact = str(record.get("BillToContactId") or found.get("Id") or "")
                parties.keep(scope, where, tuple(columns), account, contact, found)
        return found

    def party_scope(self) -> tuple[Any, ...]:
        """Whose contacts are kept: a saved connection's (an unsaved one keeps none)."""
        return (self.connection.pk, str(self.connection.created_at)) if self.connection.pk else ()

    def forget_parties(self, keys: set[str]) -> None:
        """Salesforce said these accounts or contacts changed: read their contacts again."""
        if scope := self.party_scope():
            parties.forget(scope, keys)

    def order_read(self, order: Record, trigger_stage: str) -> DealRead:
        """An order is won once Activated, for a flow triggered by the won stage, when the
        connection's won deals come from orders, and, when they come from opportunities too,
        unless its opportunity is won (that makes the Sage order: never two for one sale)."""
        status = order["Status"]
        if status != ORDER_WON_STATUS or trigger_stage != self.won_stage:
            return DealRead(order, status, False)
        sources = self.won_deal_objects()
        if ORDER not in sources:
            why = "this connection's won deals are its opportunities"
            return DealRead(order, f"{status} ({why})", False)
        opportunity = order.get("Opportunity") or {}
        if OPPORTUNITY in sources and opportunity.get("StageName") == self.won_stage:
            why = f"its opportunity {order['OpportunityId']} is won and makes the Sage order"
            return DealRead(order, f"{status} ({why})", False)
        return DealRead(order, status, True)

    def deal_stages(self) -> list[str]:
        """The opportunity's stages: the active values of its StageName picklist, in order.
        (An order has no stage: it is won once Activated.)"""
        stage = self.fields(OPPORTUNITY)["stagename"]
        return [p["value"] for p in stage.get("picklistValues") or [] if p.get("active", True)]

    def write_deal(
        self, key: str, values: dict[str, Any], idempotency_key: str, stage: str = ""
    ) -> None:
        """An opportunity's fields and stage. An order's fields, and the same fields and the
        stage on its opportunity when it has one (an order has no stage: without an
        opportunity the stage is not written). A field neither has is refused, named."""
        if not values and not stage:
            return
        if deal_object(key).name == OPPORTUNITY:
            self.update(OPPORTUNITY, key, values | ({"StageName": stage} if stage else {}),
                        idempotency_key)  # fmt: skip
            return
        with self.client.batch():
            opportunity = self.get(ORDER, key).get("OpportunityId")
            order_fields = self.fields(ORDER)
            known = self.fields(OPPORTUNITY) if opportunity else {}
            if any(name.lower() not in order_fields | known for name in values):
                order_fields = self.fields(ORDER, fresh=True)  # added since they were kept?
                known = self.fields(OPPORTUNITY, fresh=True) if opportunity else {}
            on_order = {k: v for k, v in values.items() if k.lower() in order_fields}
            on_opportunity = {k: v for k, v in values.items() if k.lower() in known}
            on_opportunity |= {"StageName": stage} if stage and opportunity else {}
            missing = [name for name in values if name not in on_order | on_opportunity]
            if missing:
                raise ValidationError(
                    f"Salesforce order {key} has no field {', '.join(missing)}: add it to "
                    "Order (or change the mapping), then retry.",
                    fields={name: "no such field on Order" for name in missing},
                    system=SYSTEM,
                )
            if on_order:
                self.update(ORDER, key, on_order, idempotency_key)
            if on_opportunity:
                self.update(OPPORTUNITY, opportunity, on_opportunity, f"{idempotency_key}-opp")

    def write_deal_noted(
        self,
        key: str,
        values: dict[str, Any],
        message: str,
        idempotency_key: str,
        posted_before: bool = True,
    ) -> None:
        """An opportunity's fields and note in one Composite request (`composite`); an
        order's as `write_deal` and `add_note` (its fields may go to its opportunity too)."""
        if deal_object(key).name != OPPORTUNITY:
            self.write_deal(key, values, idempotency_key)
            self.add_note(key, message, f"{idempotency_key}-note", posted_before)
            return
        noted = posted_before and self.has_task(key, task_subject(message), message)
        task = None if noted else note_task(key, message, timezone.localdate())
        write_opportunity_noted(self.client, key, values, task)

    def add_note(
        self, key: str, message: str, idempotency_key: str, posted_before: bool = True
    ) -> None:
        """A completed Task on the deal, dated today: the subject says what happened, the
        comments hold the whole message. Once: a retry (same key, same message) finds the
        task the first try made on the record, by subject and comments, and adds none."""
        subject = task_subject(message)
        if posted_before and self.has_task(key, subject, message):
            return
        task = {
            "WhatId": key, "Subject": subject, "Description": message, "Status": "Completed",
            "Priority": "Normal", "ActivityDate": timezone.localdate().isoformat(),
        }  # fmt: skip
        self.create("Task", task, idempotency_key)

    def has_task(self, key: str, subject: str, message: str) -> bool:
        soql = (
            f"SELECT Description FROM Task WHERE WhatId = {soql_literal(key, 'id')} "
            f"AND Subject = {soql_literal(subject, 'string')}"
        )
        said = message.strip()
        return any((task.get("Description") or "").strip() == said for task in self.query(soql))

    def add_task(
        self, deal_key: str, subject: str, body: str, due: date, idempotency_key: str
    ) -> str:
        """An open Task on the deal for its owner (the opportunity's or order's OwnerId;
        without one Salesforce gives it to the connection's user), due on `due`, priority
        High: every follow-up is about money. The deal's tasks are read for the mark first."""
        mark = task_mark(idempotency_key)
        soql = f"SELECT Id, Description FROM Task WHERE WhatId = {soql_literal(deal_key, 'id')}"
        for task in self.query(soql):
            if mark in (task.get("Description") or ""):
                return task["Id"]
        owner = self.get(deal_object(deal_key).name, deal_key).get("OwnerId")
        task = {
            "WhatId": deal_key, "Subject": subject[:255], "Description": f"{body} {mark}",
            "ActivityDate": due.isoformat(), "Status": "Not Started", "Priority": "High",
        }  # fmt: skip
        if owner:
            task["OwnerId"] = owner
        return self.create("Task", task, idempotency_key)["Id"]

    def users(self) -> list[Person]:
        return active_users(self)

    def create_deal(self, account_key: str, values: dict[str, Any], idempotency_key: str) -> str:
        return create_opportunity(self, account_key, values, idempotency_key)

    def find_deal(self, reference: str) -> str:
        """By an opportunity's ExternalID__c, else the reference is the deal's Id (the
        won-deal flows write the Id when the deal has no external ID), an opportunity's or
        an order's."""
        found = self.search(OPPORTUNITY, ExternalID__c=reference)
        if found:
            return found[0]["Id"]
        deal = deal_object(reference)
        if not RECORD_ID.match(reference) or not reference.startswith(deal.key_prefix):
            return ""
        try:
            return self.get(deal.name, reference)["Id"]
        except NotFound:
            return ""

    def deal_version(self, key: str) -> str:
        return str(self.get(deal_object(key).name, key).get("SystemModstamp") or "")

    # ------------------------------------------------------------ contacts (contacts.py)

    @classmethod
    def contact_version(cls, event: WebhookEvent, crm_owned: list[str]) -> str:
        return contacts.contact_record(event.payload).fingerprint(crm_owned)

    def contacts_of(self, account_key: str) -> list[ContactRecord]:
        return contacts.contacts_of(self, account_key)

    def read_contact(self, key: str) -> ContactRecord:
        return contacts.contact_record(self.get("Contact", key))

    def contact_account(self, key: str, account_keys: list[str]) -> str:
        return contacts.contact_account(self, key, account_keys)

    def contact_version_of(self, contact: ContactRecord, crm_owned: list[str]) -> str:
        return contact.fingerprint(crm_owned)

    def write_contact(
        self, account_key: str, contact: ContactRecord, fields: list[str], idempotency_key: str
    ) -> ContactRecord:
        return contacts.write_contact(self, account_key, contact, fields, idempotency_key)

    # ------------------------------------------------------------ items

    def load_items(self, items: list[dict[str, Any]]) -> list[str]:
        """Products by ProductCode, with their list prices in the standard price book
        (`products.load_products`)."""
        return load_products(self, items)

    def update_item_stock(self, values: dict[str, Any], idempotency_key: str) -> list[str]:
        """The mapped fields written to each product with the mapped ProductCode, unless it
        already holds them."""
        values = dict(values)
        code = values.pop("ProductCode")
        updated = []
        for product in self.search("Product2", ProductCode=code):
            if any(product.get(name) != value for name, value in values.items()):
                key = f"{idempotency_key}-product-{product['Id']}"
                self.update("Product2", product["Id"], values, key)
                updated.append(product["Id"])
        return updated
