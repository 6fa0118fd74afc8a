"""A Streak pipeline's stages and fields, and its field values decoded and encoded by type.

Streak stores a box's custom fields keyed by field key ("1003"), with values encoded by type:
dates as milliseconds since the epoch, dropdowns as item keys ("9002"), tags as lists of tag
keys. People and mappings think in names ("Currency" = "EUR"), so reads add the decoded
values by name and writes by name are encoded here, refusing what Streak would refuse.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from connectors.base import FieldInfo
from connectors.errors import ValidationError
from connectors.streak.client import SYSTEM

FIELD_TYPES = {
    "TEXT_INPUT": "string",
    "DATE": "date",
    "CHECKBOX": "boolean",
    "DROPDOWN": "choice",
    "TAG": "choice",
    "FORMULA": "string",
    "TEAM_CONTACT": "reference",
}

# The fields every record of an entity has: (name, type).
STANDARD_FIELDS = {
    "Box": [("key", "string"), ("name", "string"), ("notes", "string"), ("stageKey", "choice"),
            ("stageName", "choice"), ("pipelineKey", "reference"),
            ("creationTimestamp", "datetime"), ("lastUpdatedTimestamp", "datetime"),
            ("lastStageChangeTimestamp", "datetime"), ("assignedToSharingEntries", "list"),
            ("emailAddresses", "list"), ("contacts", "list"), ("organizations", "list")],
    "Contact": [("key", "string"), ("givenName", "string"), ("familyName", "string"),
                ("emailAddresses", "list"), ("title", "string"), ("phoneNumbers", "list"),
                ("addresses", "list"), ("other", "string")],
    "Organization": [("key", "string"), ("name", "string"), ("domains", "list"),
                     ("addresses", "list"), ("phoneNumbers", "list"), ("industry", "string"),
                     ("employeeCount", "integer"), ("other", "string")],
    "Stage": [("key", "string"), ("name", "string"), ("backgroundColor", "string")],
    "Comment": [("key", "string"), ("boxKey", "reference"), ("message", "string"),
                ("timestamp", "datetime"), ("creatorKey", "reference")],
}  # fmt: skip
ENTITIES = list(STANDARD_FIELDS)  # what the connector reads and writes


def unknown_entity(entity: str) -> ValidationError:
    return ValidationError(
        f"Streak has no entity {entity!r}; it has {', '.join(ENTITIES)}",
        system=SYSTEM,
        fields={"entity": entity},
    )


def ms_to_date(value: int) -> date:
    """A DATE field's milliseconds as the calendar day Streak's UI shows (UTC)."""
    return datetime.fromtimestamp(value / 1000, UTC).date()


def to_ms(value: date | datetime | int | str) -> int:
    """Milliseconds since the epoch; naive datetimes and plain dates are taken as UTC."""
    if isinstance(value, bool):
        raise ValueError("a date is expected, not true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            value = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a date (use YYYY-MM-DD)") from None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp() * 1000)
    raise ValueError(f"{value!r} is not a date")


def choice_items(field: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, label) of a dropdown's items or a tag field's tags."""
    if field["type"] == "DROPDOWN":
        items = (field.get("dropdownSettings") or {}).get("items") or []
        return [(str(item["key"]), item["name"]) for item in items]
    if field["type"] == "TAG":
        tags = (field.get("tagSettings") or {}).get("tags") or []
        return [(str(tag["key"]), tag["tag"]) for tag in tags]
    return []


def choice_key(field: dict[str, Any], value: Any) -> str:
    """The item key for a label (any case) or a key; ValueError naming the choices."""
    items = choice_items(field)
    text = str(value).strip()
    for key, label in items:
        if text == key or text.casefold() == label.casefold():
            return key
    labels = ", ".join(label for _, label in items)
    raise ValueError(f"{value!r} is not one of {labels}")


def decode_value(field: dict[str, Any], raw: Any) -> Any:
    """A stored value as a person reads it: labels for keys, days for milliseconds."""
    kind = field["type"]
    if raw is None:
        return None
    if kind == "DATE" and isinstance(raw, int | float):
        return ms_to_date(int(raw))
    if kind in ("DROPDOWN", "TAG"):
        labels = dict(choice_items(field))
        if isinstance(raw, list):
            return [labels.get(str(key), key) for key in raw]
        return labels.get(str(raw), raw)
    return raw


def encode_value(field: dict[str, Any], value: Any) -> Any:
    """A value in the type's encoding; None clears the field; ValueError says why not."""
    kind = field["type"]
    if value is None or value == "":
        return None
    if kind == "TEXT_INPUT":
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise ValueError(f"text is expected, got {type(value).__name__}")
        return str(value)
    if kind == "DATE":
        return to_ms(value)
    if kind == "CHECKBOX":
        if not isinstance(value, bool):
            raise ValueError(f"true or false is expected, got {value!r}")
        return value
    if kind == "DROPDOWN":
        return choice_key(field, value)
    if kind == "TAG":
        values = value if isinstance(value, list | tuple) else [value]
        return [choice_key(field, item) for item in values]
    if kind == "FORMULA":
        raise ValueError("it is a formula field, computed by Streak and read-only")
    return value


@dataclass(frozen=True)
class PipelineDefinition:
    """What a pipeline is made of, read from `GET /v1/pipelines/{key}`."""

    key: str
    name: str
    team_key: str
    fields: tuple[dict[str, Any], ...]
    stages: dict[str, dict[str, Any]]
    stage_order: tuple[str, ...]

    @classmethod
    def from_api(cls, pipeline: dict[str, Any]) -> "PipelineDefinition":
        stages = {str(key): stage for key, stage in (pipeline.get("stages") or {}).items()}
        return cls(
            key=pipeline["key"],
            name=pipeline.get("name", ""),
            team_key=pipeline.get("teamKey", ""),
            fields=tuple(pipeline.get("fields") or ()),
            stages=stages,
            stage_order=tuple(str(key) for key in pipeline.get("stageOrder") or stages),
        )

    def knows_fields(self, keys: set[str]) -> bool:
        return keys <= {field["key"] for field in self.fields}

    def find_field(self, name_or_key: str) -> dict[str, Any] | None:
        """By exact name, then by field key, then by name in any case."""
        for matches in (
            lambda field: field["name"] == name_or_key,
            lambda field: field["key"] == name_or_key,
            lambda field: field["name"].casefold() == name_or_key.casefold(),
        ):
            for field in self.fields:
                if matches(field):
                    return field
        return None

    def stage_key(self, name_or_key: str | int) -> str | None:
        text = str(name_or_key).strip()
        if text in self.stages:
            return text
        for key, stage in self.stages.items():
            if stage.get("name", "").casefold() == text.casefold():
                return key
        return None

    def stage_name(self, key: str) -> str:
        return self.stages.get(str(key), {}).get("name", "")

    def decode(self, raw_fields: dict[str, Any]) -> dict[str, Any]:
        """Every pipeline field by name, decoded; unset fields are None."""
        return {
            field["name"]: decode_value(field, raw_fields.get(field["key"]))
            for field in self.fields
        }

    def encode(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values by field name (or key) as Streak's `fields` map; every bad one is reported."""
        encoded: dict[str, Any] = {}
        problems: dict[str, str] = {}
        known = ", ".join(field["name"] for field in self.fields)
        for name, value in values.items():
            field = self.find_field(name)
            if field is None:
                problems[name] = f"no such field in pipeline {self.name}; it has {known}"
                continue
            try:
                encoded[field["key"]] = encode_value(field, value)
            except ValueError as exc:
                problems[name] = str(exc)
        if problems:
            summary = "; ".join(f"{name}: {reason}" for name, reason in problems.items())
            raise ValidationError(
                f"Streak would refuse these field values: {summary}",
                system=SYSTEM,
                fields=problems,
            )
        return encoded

    def field_infos(self) -> list[FieldInfo]:
        return [
            FieldInfo(
                name=field["name"],
                label=field["name"],
                type=FIELD_TYPES.get(field["type"], "string"),
                custom=True,
                choices=tuple(label for _, label in choice_items(field)),
                key=field["key"],
            )
            for field in self.fields
        ]
