"""What the agent needs from Sage 50 US (desktop, ex-Peachtree): the writes it performs
through the Sage 50 SDK (`Sage.Peachtree.API`), named after the SDK objects that do them.

Reads never come here: Clarity reads the company over ODBC. Values use these names:

- Customer: the ODBC columns of `Customers` (CustomerID, Customer_Bill_Name, Contact,
  Phone_Number, FAX_Number, eMail_Address, Customer_Type, PriceLevel, Terms_DueDays,
  Terms_CreditLimit, CustomerIsInactive, CustomField1…CustomField5) plus the main bill-to
  address as the columns of `Address` (AddressLine1, AddressLine2, City, State, Zip,
  Country). `CustomerID` is made from the name when missing (ACME, ACME01, …).
- Sales invoice and sales order, as the SDK's SalesInvoice/SalesOrder: CustomerID, Date
  (ISO date), DateDue (invoices), ReferenceNumber (made when missing: the company's next
  number), CustomerPurchaseOrderNumber, InternalNote, ShipToName, ShipToAddressLine1,
  ShipToAddressLine2, ShipToCity, ShipToState, ShipToZip, ShipToCountry, FreightAmount,
  SalesRepID (the EmployeeID of a sales rep; empty or missing: the customer's own);
  `lines` of ItemID, AccountID (the GL account's ID, e.g. "40000"), Description, Quantity,
  UnitPrice, Amount (Quantity x UnitPrice, to the cent).

Replies: the customer as those names; a document as its header names plus ReferenceNumber,
MainAmount (the total) and `lines`. Record numbers (CustomerRecordNumber, PostOrder) come
only where the backend sees the tables (the sandbox); the SDK gives the record's GUID
instead, so the connector names documents by ReferenceNumber. Sage refuses (`Refused`, nothing
written): an unknown or inactive customer, an unknown or inactive item, an unknown GL
account, a date in a closed period, a reference number already used, a required value
missing. `RecordInUse` when Sage has a record the write needs open (retry later).

Two implementations: `agent.sage50.sdk.SdkBackend` drives the SDK through pythonnet on the
Windows machine holding the company; `sandbox.sage50desktop.backend.SandboxBackend` applies
the same rules to the sandbox company's tables.
"""

from abc import abstractmethod

from agent.backend import AgentBackend, Record


class Sage50Backend(AgentBackend):
    @abstractmethod
    def create_customer(self, values: Record, match: str = "") -> Record:
        """CustomerFactory.Create() … Save(); with `match` (a column such as CustomField5)
        the customer already holding `values[match]` (the first, marked EXISTED)."""

    @abstractmethod
    def update_customer(self, customer_id: str, values: Record) -> Record:
        """Load the customer by CustomerID, set the values given, Save(); the updated row."""

    @abstractmethod
    def create_sales_invoice(self, header: Record, lines: list[Record], match: str = "") -> Record:
        """SalesInvoiceFactory.Create(), AddSalesLine() per line, Save(): header and lines
        together or nothing. With `match` (InternalNote) the invoice already holding
        `header[match]` (marked EXISTED); several raise SeveralMatches."""

    @abstractmethod
    def create_sales_order(self, header: Record, lines: list[Record], match: str = "") -> Record:
        """SalesOrderFactory: as `create_sales_invoice`, for a sales order."""
