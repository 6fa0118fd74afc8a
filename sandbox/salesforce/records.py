"""Records and DML: create, update, upsert, delete with Salesforce's validation and errors.

Records live in the `DocumentStore`, one collection per sObject, as flat dicts of field
values (deleted ones stay, with IsDeleted true, for queryAll). Derived fields (IsWon,
Amount from lines, TotalPrice, ...) are recomputed on every write.
"""

from collections.abc import Callable
from datetime import date
from typing import Any

from sandbox.core.store import DocumentStore
from sandbox.salesforce import ids
from sandbox.salesforce.derived import DERIVATIONS
from sandbox.salesforce.errors import ApiError, MultipleMatches, not_found
from sandbox.salesforce.schema import USER_ID, Field, SObject, sobject

Record = dict[str, Any]
# The org's workflow rules (their Outbound Messages): object → (field, value) that, once a
# record reaches it, meets the rule's criteria.
WORKFLOW_RULES = {"Opportunity": ("StageName", "Closed Won"), "Order": ("Status", "Activated")}


class Records:
    def __init__(self, store: DocumentStore, on_rule_met: Callable[[str], None]) -> None:
        self.store = store
        self.on_rule_met = on_rule_met  # a workflow rule's criteria became true for a record

    # ------------------------------------------------------------ reading

    def get(self, obj: SObject, record_id: str) -> Record | None:
        return self.store.get(obj.name, record_id)

    def all(self, obj: SObject, include_deleted: bool = False) -> list[Record]:
        records = self.store.all(obj.name)
        return records if include_deleted else [r for r in records if not r["IsDeleted"]]

    def find_by(self, obj: SObject, field: Field, value: Any) -> list[Record]:
        found = self.store.find(obj.name, field.name, value)
        return [r for r in found if not r["IsDeleted"]]

    def existing(self, obj: SObject, raw_id: str) -> Record:
        """The live record with this id (from a URL), or the error Salesforce answers."""
        record_id = ids.normalise(raw_id)
        if record_id is None:
            raise ApiError(
                404, "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {raw_id}",
            )  # fmt: skip
        if record_id[:3] != obj.key_prefix:
            raise ApiError(
                400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw_id}"
            )
        record = self.get(obj, record_id)
        if record is None:
            raise not_found()
        if record["IsDeleted"]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return record

    # ------------------------------------------------------------ writing

    def new_id(self, obj: SObject) -> str:
        key = f"seq:{obj.key_prefix}"
        number = int(self.store.get_meta(key, "0")) + 1
        self.store.set_meta(key, str(number))
        return ids.make_id(obj.key_prefix, number)

    def create(self, obj: SObject, data: Record) -> str:
        with self.store.transaction():
            values = self.clean(obj, data, creating=True)
            missing = [f.name for f in obj.fields if f.required and values.get(f.name) is None]
            if missing:
                raise ApiError(
                    400, "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]", missing,
                )  # fmt: skip
            record_id = self.new_id(obj)
            stamp = ids.format_datetime(ids.now())
            record: Record = {f.name: USER_ID if f.defaulted else f.default for f in obj.fields}
            record.update(
                Id=record_id, IsDeleted=False, CreatedDate=stamp, CreatedById=USER_ID,
                LastModifiedDate=stamp, LastModifiedById=USER_ID, SystemModstamp=stamp,
            )  # fmt: skip
            record.update(values)
            self.save(obj, record, None)
        return record_id

    def update(self, obj: SObject, raw_id: str, data: Record) -> str:
        with self.store.transaction():
            old = self.existing(obj, raw_id)
            values = self.clean(obj, data, creating=False, record_id=old["Id"])
            for name in values:
                if obj.field(name).required and values[name] is None:
                    raise ApiError(
                        400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]",
                        [name],
                    )  # fmt: skip
            stamp = ids.format_datetime(ids.now())
            record = {**old, **values, "LastModifiedDate": stamp, "SystemModstamp": stamp}
            self.save(obj, record, old)
        return old["Id"]

    def upsert(self, obj: SObject, field_name: str, value: str, data: Record) -> tuple[str, bool]:
        """Create or update by external ID; answers (id, created)."""
        field = obj.field(field_name)
        if field is None or not field.external_id:
            raise ApiError(
                404, "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
            )  # fmt: skip
        with self.store.transaction():
            matches = self.find_by(obj, field, value)
            if len(matches) > 1:
                raise MultipleMatches(obj, [m["Id"] for m in matches])
            if matches:
                return self.update(obj, matches[0]["Id"], data), False
            return self.create(obj, {**data, field.name: value}), True

    def delete(self, obj: SObject, raw_id: str) -> None:
        with self.store.transaction():
            record = self.existing(obj, raw_id)
            self.mark_deleted(obj, record)

    def mark_deleted(self, obj: SObject, record: Record) -> None:
        """Delete a record and, like Salesforce, its cascade-deleted children."""
        for child in obj.children:
            if child.cascade_delete:
                child_obj = sobject(child.child)
                for row in self.all(child_obj):
                    if row.get(child.field) == record["Id"]:
                        self.mark_deleted(child_obj, row)
        stamp = ids.format_datetime(ids.now())
        self.store.put(
            obj.name, record["Id"], {**record, "IsDeleted": True, "SystemModstamp": stamp}
        )
        self.after_line_change(obj, record)

    def save(self, obj: SObject, record: Record, old: Record | None) -> None:

        derive = DERIVATIONS.get(obj.name)
        if derive:
            derive(self, record, old)
        self.check_unique(obj, record)
        self.store.put(obj.name, record["Id"], record)
        self.after_line_change(obj, record)
        rule = WORKFLOW_RULES.get(obj.name)
        if rule and record[rule[0]] == rule[1] and (old or {}).get(rule[0]) != rule[1]:
            self.on_rule_met(record["Id"])

    def after_line_change(self, obj: SObject, record: Record) -> None:
        """Keep Opportunity.Amount and Order.TotalAmount equal to the sum of their lines."""
        if obj.name == "OpportunityLineItem":
            parent_obj, parent_id, total_field = (
                sobject("Opportunity"),
                record["OpportunityId"],
                "Amount",
            )
        elif obj.name == "OrderItem":
            parent_obj, parent_id, total_field = sobject("Order"), record["OrderId"], "TotalAmount"
        else:
            return
        parent = self.get(parent_obj, parent_id)
        lines = [r for r in self.all(obj) if r.get(parent_obj.name + "Id") == parent_id]
        parent[total_field] = round(sum(line["TotalPrice"] for line in lines), 2)
        if parent_obj.name == "Opportunity":
            parent["HasOpportunityLineItem"] = bool(lines)
        self.store.put(parent_obj.name, parent_id, parent)

    def check_unique(self, obj: SObject, record: Record) -> None:
        for field in obj.fields:
            value = record.get(field.name)
            if not field.unique or value in (None, ""):
                continue
            for other in self.find_by(obj, field, value):
                if other["Id"] != record["Id"]:
                    raise ApiError(
                        400, "DUPLICATE_VALUE",
                        f"duplicate value found: {field.name} duplicates value on record with "
                        f"id: {other['Id']}", [field.name],
                    )  # fmt: skip

    # ------------------------------------------------------------ validation

    def clean(
        self, obj: SObject, data: Any, creating: bool, record_id: str | None = None
    ) -> Record:
        """Check names, access and types of the fields in a request body; coerce values."""
        if not isinstance(data, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        values: Record = {}
        locked = []
        for name, value in data.items():
            if name == "attributes" or (name == "Id" and value == record_id):
                continue
            field = obj.field(name)
            if field is None:
                raise ApiError(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}"
                )
            if not (field.createable if creating else field.updateable):
                locked.append(field.name)
                continue
            values[field.name] = self.coerce(obj, field, value)
        if locked:
            raise ApiError(
                400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(locked)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.", locked,
            )  # fmt: skip
        return values

    def coerce(self, obj: SObject, field: Field, value: Any) -> Any:
        if value is None or (value == "" and field.type not in ("boolean", "double", "int")):
            return None
        kind = field.type

        def cannot(type_name: str) -> ApiError:
            return ApiError(
                400, "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of {type_name} from VALUE_STRING value {value} or "
                f"request may be missing a required field",
            )  # fmt: skip

        if kind in ("double", "currency", "percent", "int"):
            if isinstance(value, bool):
                raise cannot(kind)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise cannot(kind) from None
            return int(number) if kind == "int" else round(number, field.scale or 6)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise cannot("boolean")
        if kind == "date":
            try:
                return date.fromisoformat(str(value)).isoformat()
            except ValueError:
                raise cannot("date") from None
        if kind == "datetime":
            try:
                return ids.format_datetime(ids.parse_datetime(str(value)))
            except ValueError:
                raise cannot("datetime") from None
        if kind == "reference":
            return self.check_reference(obj, field, str(value))
        text = str(value)
        if field.length and len(text) > field.length:
            raise ApiError(
                400, "STRING_TOO_LONG",
                f"{field.label or field.name}: data value too large: {text[:40]} "
                f"(max length={field.length})", [field.name],
            )  # fmt: skip
        if kind == "picklist" and field.restricted and text not in field.picklist:
            raise ApiError(
                400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{field.label or field.name}: bad value for restricted picklist field: {text}",
                [field.name],
            )  # fmt: skip
        return text

    def check_reference(self, obj: SObject, field: Field, raw: str) -> str:
        record_id = ids.normalise(raw)
        target = field.target(record_id) if record_id else None
        if target is None:
            raise ApiError(
                400, "MALFORMED_ID",
                f"{field.label or field.name}: id value of incorrect type: {raw}", [field.name],
            )  # fmt: skip
        found = self.get(target, record_id)
        if found is None or found["IsDeleted"]:
            raise ApiError(
                400, "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id", [field.name],
            )  # fmt: skip
        return record_id
