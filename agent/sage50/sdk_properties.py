"""Which SDK property (`Sage.Peachtree.API`) each wire name the agent takes is set on, and
as what kind of value: the tables `SdkBackend` writes customers, documents and their lines
through, and the reverse look-up a ValidationException's PropertyName is named back by.

A property path is dotted, with an index into a collection where needed
(`PhoneNumbers[2].Number`); `holder` walks it.
"""

import re
from typing import Any

PATH_PART = re.compile(r"^(\w+)(?:\[(\d+)\])?$")  # Name or Name[index]
# How a wire value becomes an SDK value (a REFERENCE arrives as the loaded entity's Key).
TEXT, FLAG, DAYS, AMOUNT, DATE, REFERENCE, PERSON = (
    "text", "flag", "days", "amount", "date", "reference", "person"
)  # fmt: skip
TERMS_ARGS = ("PaymentTimeFrame", "DueDays", "UseDiscounts", "DiscountDays", "DiscountPercent",
              "CreditLimit", "ChargeInterest")  # PaymentTermsFactory.Create's  # fmt: skip
ADDRESS = (("AddressLine1", "Address1"), ("AddressLine2", "Address2"), ("City", "City"),
           ("State", "State"), ("Zip", "Zip"), ("Country", "Country"))  # fmt: skip

CUSTOMER_PROPERTIES: dict[str, tuple[str, str]] = {  # Customers/Address column -> Customer
    "CustomerID": ("ID", TEXT),
    "Customer_Bill_Name": ("Name", TEXT),
    "eMail_Address": ("Email", TEXT),
    "Contact": ("BillToContact", PERSON),  # its FirstName and LastName
    "Phone_Number": ("PhoneNumbers[0].Number", TEXT),
    "FAX_Number": ("PhoneNumbers[2].Number", TEXT),
    "CustomerIsInactive": ("IsInactive", FLAG),
    "Terms_DueDays": ("Terms.DueDays", DAYS),  # Terms are made whole: see _set_all
    "Terms_CreditLimit": ("Terms.CreditLimit", AMOUNT),
    **{column: (f"BillToContact.Address.{name}", TEXT) for column, name in ADDRESS},
    **{f"CustomField{n}": (f"CustomFieldValues[{n - 1}].Value", TEXT) for n in range(1, 6)},
}
ORDER_PROPERTIES: dict[str, tuple[str, str]] = {  # document name -> SalesOrder
    "CustomerID": ("CustomerReference", REFERENCE),
    "Date": ("Date", DATE),
    "ReferenceNumber": ("ReferenceNumber", TEXT),
    "CustomerPurchaseOrderNumber": ("CustomerPurchaseOrderNumber", TEXT),
    "InternalNote": ("InternalNote", TEXT),
    "ShipToName": ("ShipToAddress.Name", TEXT),
    **{f"ShipTo{column}": (f"ShipToAddress.Address.{name}", TEXT) for column, name in ADDRESS},
    "FreightAmount": ("FreightAmount", AMOUNT),
    "SalesRepID": ("SalesRepresentativeReference", REFERENCE),  # an Employee's ID
}
INVOICE_PROPERTIES = {**ORDER_PROPERTIES, "DateDue": ("DateDue", DATE)}  # -> SalesInvoice
LINE_PROPERTIES: dict[str, tuple[str, str]] = {  # line name -> the document's sales line
    "ItemID": ("InventoryItemReference", REFERENCE),
    "AccountID": ("AccountReference", REFERENCE),
    "Description": ("Description", TEXT),
    "Quantity": ("Quantity", AMOUNT),
    "UnitPrice": ("UnitPrice", AMOUNT),
    "Amount": ("Amount", AMOUNT),
}
WIRE_NAMES = {  # the SDK property a ValidationException names -> the name the caller knows
    path: name
    for table in (LINE_PROPERTIES, INVOICE_PROPERTIES, CUSTOMER_PROPERTIES)
    for name, (path, _) in table.items()
}


def holder(obj: Any, path: str) -> tuple[Any, str]:
    """The object holding the last property of `path` ("A.B[2].C") and that property;
    LookupError when a collection on the way is shorter."""
    *parents, last = path.split(".")
    for part in parents:
        name, index = PATH_PART.match(part).groups()
        obj = getattr(obj, name)
        if index is not None:
            if int(index) >= obj.Count:
                raise LookupError(f"Sage 50 has no {part} here")
            obj = obj[int(index)]
    return obj, last
