"""The sObjects the sandbox knows and their fields (their describe shapes: `describe`).

One `SObject` per object type; its `Field`s drive describe, DML validation and SOQL
(which fields exist, their types, lookups and child relationships).
"""

from dataclasses import dataclass, field

ORG_ID = "00DDn00000SbXc1MAF"
USER_ID = "005Dn00000IntgUIAR"  # 15 characters and their checksum, as Salesforce writes ids
CURRENCIES = ("USD", "EUR")

STAGES = [  # (value, probability, is_closed, is_won)
    ("Prospecting", 10, False, False),
    ("Qualification", 10, False, False),
    ("Needs Analysis", 20, False, False),
    ("Value Proposition", 50, False, False),
    ("Id. Decision Makers", 60, False, False),
    ("Perception Analysis", 70, False, False),
    ("Proposal/Price Quote", 75, False, False),
    ("Negotiation/Review", 90, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
]
STAGE_INFO = {name: (probability, closed, won) for name, probability, closed, won in STAGES}
GROUPABLE_TYPES = {"id", "reference", "string", "picklist", "combobox", "email", "phone", "url",
                   "boolean", "int", "date"}  # fmt: skip


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str = ""
    length: int = 0
    required: bool = False  # not nillable and no default: must be given on create
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    external_id: bool = False
    unique: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    targets: tuple[str, ...] = ()  # a polymorphic reference's objects (Task.WhatId)
    precision: int = 0
    scale: int = 0
    default: object = None
    defaulted: bool = False  # the running user's Id on create unless given (OwnerId)

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def groupable(self) -> bool:
        """Whether GROUP BY takes it (describe's `groupable`): not numbers with decimals,
        datetimes or long text."""
        return self.type in GROUPABLE_TYPES

    def target(self, record_id: str) -> "SObject | None":
        """The object a reference to `record_id` points at, when this field may point there."""
        pointed = BY_PREFIX.get(record_id[:3])
        allowed = self.targets or (self.reference_to,)
        return pointed if pointed is not None and pointed.name in allowed else None


def text(name: str, length: int = 255, **kw) -> Field:
    return Field(name, "string", length=length, **kw)


def pick(name: str, values: list[str] | tuple[str, ...], **kw) -> Field:
    return Field(name, "picklist", length=255, picklist=tuple(values), **kw)


def ref(name: str, target: str, **kw) -> Field:
    return Field(name, "reference", length=18, reference_to=target,
                 relationship_name=name.removesuffix("Id"), **kw)  # fmt: skip


def owner() -> Field:
    """OwnerId: the user who owns the record, the running user unless given."""
    return ref("OwnerId", "User", nillable=False, defaulted=True, label="Owner ID")


def money(name: str, **kw) -> Field:
    return Field(name, "currency", precision=18, scale=2, **kw)


def readonly(name: str, kind: str, **kw) -> Field:
    return Field(name, kind, createable=False, updateable=False, **kw)


def audit_user(name: str) -> Field:
    """CreatedById, LastModifiedById: the user who made the change (CreatedBy.Name…)."""
    return readonly(name, "reference", length=18, reference_to="User",
                    relationship_name=name.removesuffix("Id"))  # fmt: skip


def system_fields() -> list[Field]:
    return [
        readonly("Id", "id", length=18, nillable=False),
        readonly("IsDeleted", "boolean", nillable=False),
        readonly("CreatedDate", "datetime", nillable=False),
        audit_user("CreatedById"),
        readonly("LastModifiedDate", "datetime", nillable=False),
        audit_user("LastModifiedById"),
        readonly("SystemModstamp", "datetime", nillable=False),
        pick("CurrencyIsoCode", CURRENCIES, restricted=True, default="USD", label="Currency"),
    ]


def address(prefix: str) -> list[Field]:
    return [
        Field(f"{prefix}Street", "textarea", length=255),
        text(f"{prefix}City", 40),
        text(f"{prefix}State", 80),
        text(f"{prefix}PostalCode", 20),
        text(f"{prefix}Country", 80),
    ]


@dataclass(frozen=True)
class Child:
    """A child relationship, e.g. Opportunity.OpportunityLineItems (OpportunityLineItem's
    OpportunityId); cascade-deleted with its parent."""

    relationship_name: str
    child: str
    field: str
    cascade_delete: bool = True


@dataclass
class SObject:
    name: str
    label: str
    key_prefix: str
    fields: list[Field]
    children: list[Child] = field(default_factory=list)
    plural: str = ""

    def __post_init__(self) -> None:
        self.fields = system_fields() + self.fields
        self.by_name = {f.name.lower(): f for f in self.fields}
        self.by_relationship = {
            f.relationship_name.lower(): f
            for f in self.fields
            if f.relationship_name and f.reference_to in OBJECT_NAMES
        }

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name.lower())

    def child(self, relationship_name: str) -> Child | None:
        return next(
            (c for c in self.children if c.relationship_name.lower() == relationship_name.lower()),
            None,
        )


OBJECT_NAMES = {
    "Account", "Contact", "Opportunity", "OpportunityLineItem", "Product2", "Pricebook2",
    "PricebookEntry", "Order", "OrderItem", "Task", "User",
}  # fmt: skip
# What Sage says of an order, as the order status flow writes it (Sage_Order_Status__c).
SAGE_ORDER_STATUSES = ("New", "Open", "On Hold", "Back Order", "Completed", "Cancelled", "Quote")
SAGE_AGING = ("Current", "1-30", "31-60", "61-90", "Over 90")  # days past due
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")

ACCOUNT = SObject("Account", "Account", "001", [
    text("Name", required=True, label="Account Name"),
    text("AccountNumber", 40),
    pick("Type", ["Prospect", "Customer - Direct", "Customer - Channel",
                  "Channel Partner / Reseller", "Installation Partner", "Other"]),
    pick("Industry", ["Agriculture", "Construction", "Education", "Electronics", "Energy",
                      "Engineering", "Healthcare", "Hospitality", "Manufacturing", "Retail",
                      "Technology", "Transportation", "Utilities", "Other"]),
    *address("Billing"),
    *address("Shipping"),
    Field("Phone", "phone", length=40),
    Field("Website", "url", length=255),
    ref("ParentId", "Account"),
    owner(),
    text("ExternalID__c", 40, external_id=True, unique=True, label="External ID"),
], children=[
    Child("Contacts", "Contact", "AccountId"),
    Child("Opportunities", "Opportunity", "AccountId"),
    Child("Orders", "Order", "AccountId"),
])  # fmt: skip

CONTACT = SObject("Contact", "Contact", "003", [
    text("FirstName", 40),
    text("LastName", 80, required=True),
    readonly("Name", "string", length=121, label="Full Name"),
    Field("Email", "email", length=80),
    Field("Phone", "phone", length=40),
    text("Title", 128),
    ref("AccountId", "Account"),
    owner(),
    *address("Mailing"),
    text("ExternalID__c", 40, external_id=True, label="External ID"),
])  # fmt: skip

OPPORTUNITY = SObject("Opportunity", "Opportunity", "006", [
    text("Name", 120, required=True),
    pick("StageName", [s[0] for s in STAGES], required=True, restricted=True, label="Stage"),
    Field("CloseDate", "date", required=True),
    ref("AccountId", "Account"),
    money("Amount"),
    Field("Probability", "percent", precision=3, scale=0),
    ref("Pricebook2Id", "Pricebook2"),
    owner(),
    pick("Type", ["Existing Customer - Upgrade", "Existing Customer - Replacement",
                  "Existing Customer - Downgrade", "New Customer"]),
    pick("LeadSource", ["Web", "Phone Inquiry", "Partner Referral", "Trade Show", "Other"]),
    Field("Description", "textarea", length=32000),
    readonly("IsClosed", "boolean", nillable=False),
    readonly("IsWon", "boolean", nillable=False),
    readonly("HasOpportunityLineItem", "boolean", nillable=False),
    text("Sage_Order_No__c", 30, label="Sage Order No"),
    text("Sage_Invoice_No__c", 30, label="Sage Invoice No"),
    pick("Sage_Order_Status__c", SAGE_ORDER_STATUSES, label="Sage Order Status"),
    money("Sage_Open_Balance__c", label="Sage Open Balance"),
    pick("Sage_Aging__c", SAGE_AGING, label="Sage Aging"),
    Field("Sage_Stock__c", "textarea", length=32768, label="Sage Stock"),
    text("ExternalID__c", 40, external_id=True, unique=True, label="External ID"),
], children=[Child("OpportunityLineItems", "OpportunityLineItem", "OpportunityId")])  # fmt: skip

PRODUCT = SObject("Product2", "Product", "01t", [
    text("Name", required=True, label="Product Name"),
    text("ProductCode", 255),
    Field("Description", "textarea", length=4000),
    Field("IsActive", "boolean", nillable=False, default=False, label="Active"),
    pick("Family", ["Widgets", "Gadgets", "Services", "Kits"]),
    Field("Quantity_On_Hand__c", "double", precision=18, scale=0, label="Quantity On Hand"),
], children=[Child("PricebookEntries", "PricebookEntry", "Product2Id")])  # fmt: skip

PRICEBOOK = SObject("Pricebook2", "Price Book", "01s", [
    text("Name", required=True, label="Price Book Name"),
    Field("IsActive", "boolean", nillable=False, default=False, label="Active"),
    readonly("IsStandard", "boolean", nillable=False),
    Field("Description", "textarea", length=255),
], children=[Child("PricebookEntries", "PricebookEntry", "Pricebook2Id")])  # fmt: skip

PRICEBOOK_ENTRY = SObject("PricebookEntry", "Price Book Entry", "01u", [
    ref("Pricebook2Id", "Pricebook2", required=True, updateable=False),
    ref("Product2Id", "Product2", required=True, updateable=False),
    money("UnitPrice", required=True, label="List Price"),
    Field("IsActive", "boolean", nillable=False, default=False, label="Active"),
    Field("UseStandardPrice", "boolean", nillable=False, default=False),
    readonly("Name", "string", length=255),
    readonly("ProductCode", "string", length=255),
], plural="Price Book Entries")  # fmt: skip

OPPORTUNITY_LINE_ITEM = SObject("OpportunityLineItem", "Opportunity Product", "00k", [
    ref("OpportunityId", "Opportunity", required=True, updateable=False),
    ref("PricebookEntryId", "PricebookEntry", required=True, updateable=False),
    Field("Quantity", "double", required=True, precision=12, scale=2),
    money("UnitPrice", label="Sales Price"),
    money("TotalPrice"),
    Field("Discount", "percent", precision=18, scale=2),
    Field("ServiceDate", "date"),
    Field("Description", "string", length=255, label="Line Description"),
    readonly("ListPrice", "currency", precision=18, scale=2),
    readonly("Product2Id", "reference", length=18, reference_to="Product2",
             relationship_name="Product2"),
    readonly("ProductCode", "string", length=255),
    readonly("Name", "string", length=376),
])  # fmt: skip

ORDER = SObject("Order", "Order", "801", [
    text("Name", 80, label="Order Name"),
    ref("AccountId", "Account", required=True),
    Field("EffectiveDate", "date", required=True, label="Order Start Date"),
    pick("Status", ["Draft", "Activated"], required=True, restricted=True),
    ref("Pricebook2Id", "Pricebook2"),
    ref("OpportunityId", "Opportunity"),
    ref("BillToContactId", "Contact", label="Bill To Contact ID"),
    owner(),
    Field("Description", "textarea", length=32000),
    text("PoNumber", 80, label="PO Number"),
    readonly("OrderNumber", "string", length=30),
    readonly("StatusCode", "picklist", length=40, picklist=("Draft", "Activated")),
    readonly("TotalAmount", "currency", precision=18, scale=2),
    readonly("ActivatedDate", "datetime"),
    text("Sage_Order_No__c", 30, label="Sage Order No"),
    text("Sage_Invoice_No__c", 30, label="Sage Invoice No"),
    pick("Sage_Order_Status__c", SAGE_ORDER_STATUSES, label="Sage Order Status"),
    money("Sage_Open_Balance__c", label="Sage Open Balance"),
    pick("Sage_Aging__c", SAGE_AGING, label="Sage Aging"),
], children=[Child("OrderItems", "OrderItem", "OrderId")])  # fmt: skip

TASK = SObject("Task", "Task", "00T", [
    owner(),
    Field("Subject", "combobox", length=255),
    Field("ActivityDate", "date", label="Due Date Only"),
    pick("Status", TASK_STATUSES, nillable=False, default="Not Started"),
    pick("Priority", ["High", "Normal", "Low"], nillable=False, default="Normal"),
    Field("Description", "textarea", length=32000),
    Field("WhatId", "reference", length=18, relationship_name="What", label="Related To ID",
          targets=("Account", "Opportunity", "Order")),
    ref("WhoId", "Contact", label="Name ID"),
    readonly("AccountId", "reference", length=18, reference_to="Account",
             relationship_name="Account"),
    readonly("IsClosed", "boolean", nillable=False, label="Closed"),
    pick("Type", ["Call", "Email", "Meeting", "Other"]),
    pick("TaskSubtype", ["Task", "Email", "ListEmail", "Cadence", "Call"], updateable=False,
         default="Task"),
])  # fmt: skip

ORDER_ITEM = SObject("OrderItem", "Order Product", "802", [
    ref("OrderId", "Order", required=True, updateable=False),
    ref("PricebookEntryId", "PricebookEntry", required=True, updateable=False),
    Field("Quantity", "double", required=True, precision=18, scale=2),
    money("UnitPrice", required=True),
    Field("Description", "string", length=255, label="Line Description"),
    readonly("TotalPrice", "currency", precision=18, scale=2),
    readonly("ListPrice", "currency", precision=18, scale=2),
    readonly("Product2Id", "reference", length=18, reference_to="Product2",
             relationship_name="Product2"),
], plural="Order Products")  # fmt: skip

USER = SObject("User", "User", "005", [
    text("Username", 80, required=True),
    text("FirstName", 40),
    text("LastName", 80, required=True),
    readonly("Name", "string", length=121, label="Full Name"),
    Field("Email", "email", length=128, required=True),
    text("Alias", 8, required=True),
    text("Title", 80),
    Field("IsActive", "boolean", nillable=False, default=True, label="Active"),
])  # fmt: skip

OBJECTS: dict[str, SObject] = {
    o.name.lower(): o
    for o in [ACCOUNT, CONTACT, OPPORTUNITY, OPPORTUNITY_LINE_ITEM, PRODUCT, PRICEBOOK,
              PRICEBOOK_ENTRY, ORDER, ORDER_ITEM, TASK, USER]
}  # fmt: skip
BY_PREFIX: dict[str, SObject] = {o.key_prefix: o for o in OBJECTS.values()}


def sobject(name: str) -> SObject | None:
    return OBJECTS.get(name.lower())
