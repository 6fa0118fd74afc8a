"""The describe shapes of the sandbox's sObjects: the global describe, an object's summary and
its full describe with every field, as `/sobjects` and `/sobjects/X/describe` answer them."""

from sandbox.salesforce.schema import OBJECTS, Field, SObject

SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "string": "xsd:string", "textarea": "xsd:string",
    "picklist": "xsd:string", "combobox": "xsd:string", "email": "xsd:string",
    "phone": "xsd:string", "url": "xsd:string",
    "boolean": "xsd:boolean", "int": "xsd:int", "double": "xsd:double", "currency": "xsd:double",
    "percent": "xsd:double", "date": "xsd:date", "datetime": "xsd:dateTime",
}  # fmt: skip


def field_describe(field: Field) -> dict:
    numeric = field.type in ("double", "currency", "percent")
    return {
        "name": field.name,
        "label": field.label or field.name.removesuffix("__c").replace("_", " "),
        "type": field.type,
        "soapType": SOAP_TYPES[field.type],
        "length": field.length,
        "byteLength": field.length * 3,
        "precision": field.precision if numeric else 0,
        "scale": field.scale if numeric else 0,
        "digits": 9 if field.type == "int" else 0,
        "custom": field.custom,
        "nillable": field.nillable and not field.required,
        "createable": field.createable,
        "updateable": field.updateable,
        "unique": field.unique,
        "externalId": field.external_id,
        "idLookup": field.name == "Id" or field.external_id,
        "calculated": False,
        "autoNumber": False,
        "caseSensitive": False,
        "filterable": field.type != "textarea",
        "sortable": field.type != "textarea",
        "groupable": field.groupable,
        "aggregatable": field.type != "textarea",
        "nameField": field.name == "Name",
        "defaultValue": field.default,
        "defaultedOnCreate": field.default is not None or not field.createable or field.defaulted,
        "restrictedPicklist": field.restricted,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in field.picklist
        ],
        "referenceTo": list(field.targets) or ([field.reference_to] if field.reference_to else []),
        "relationshipName": field.relationship_name,
    }


def summary(obj: SObject, version: str) -> dict:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.plural or f"{obj.label}s",
        "custom": False,
        "keyPrefix": obj.key_prefix,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "layoutable": True,
        "activateable": False,
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }


def describe(obj: SObject, version: str) -> dict:
    return {
        **summary(obj, version),
        "fields": [field_describe(field) for field in obj.fields],
        "childRelationships": [
            {
                "childSObject": child.child,
                "field": child.field,
                "relationshipName": child.relationship_name,
                "cascadeDelete": child.cascade_delete,
                "deprecatedAndHidden": False,
            }
            for child in obj.children
        ],
        "recordTypeInfos": [
            {
                "available": True,
                "defaultRecordTypeMapping": True,
                "master": True,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
            }
        ],
    }


def global_describe(version: str) -> dict:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [summary(obj, version) for obj in OBJECTS.values()],
    }
