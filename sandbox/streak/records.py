"""The rules for reading and changing Streak's records, shared by the API and the pages.

Every change goes through here, so a stage moved on the board page fires the same webhook
as one moved through the API. Writes report their events to `emit(event, scope_key,
box_key, payload)`; the app turns those into webhook deliveries.
"""

import time
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from sandbox.core.app import json_response
from sandbox.core.store import DocumentStore
from sandbox.streak import data

Emit = Callable[[str, str, str | None, list[dict[str, Any]]], None]

BOX_WRITABLE = ("name", "notes", "stageKey", "assignedToSharingEntries", "linkedBoxKeys",
                "fields", "contacts", "organizations", "followerKeys")  # fmt: skip
BOX_EDIT_TRIGGERS = ("name", "notes", "fields", "assignedToSharingEntries")
CONTACT_FIELDS = ("givenName", "familyName", "emailAddresses", "title", "phoneNumbers",
                  "addresses", "other", "twitterHandle", "facebookHandle", "linkedinHandle",
                  "photoUrl")  # fmt: skip
ORGANIZATION_FIELDS = ("name", "domains", "addresses", "phoneNumbers", "industry",
                       "employeeCount", "logoUrl", "twitterHandle", "facebookHandle",
                       "linkedInHandle", "other", "relationships")  # fmt: skip
LIST_FIELDS = {"emailAddresses", "phoneNumbers", "addresses", "domains"}


class StreakError(HTTPException):
    """An error Streak answers with `{"success": false, "error": …, "details": …}`."""

    def __init__(self, status: int, error: str, details: str = "", code: int | None = None):
        super().__init__(description=error)
        self.code = status
        self.error, self.details, self.error_code = error, details, code

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"success": False, "error": self.error}
        if self.details:
            body["details"] = self.details
        if self.error_code is not None:
            body["errorCode"] = self.error_code
        return body

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:
        return json_response(self.body(), status=self.code or 400)


def now_ms() -> int:
    return int(time.time() * 1000)


def not_found(key: str) -> StreakError:
    return StreakError(404, "Entity not found with key", key)


def pipeline(key: str) -> dict[str, Any]:
    for candidate in data.PIPELINES:
        if candidate["key"] == key:
            return candidate
    raise not_found(key)


def encode_field_value(field: dict[str, Any], value: Any) -> Any:
    """A written value in the type's encoding (text, ms, boolean, dropdown key), or a 400."""
    kind = field["type"]
    if kind == "TEXT_INPUT" and isinstance(value, str | int | float):
        return str(value)
    if kind == "DATE" and isinstance(value, int | str) and str(value).lstrip("-").isdigit():
        return int(value)
    if kind == "CHECKBOX" and isinstance(value, bool):
        return value
    if kind == "DROPDOWN" and isinstance(value, str | int):
        items = [item["key"] for item in field["dropdownSettings"]["items"]]
        if str(value) in items:
            return str(value)
    raise StreakError(400, f"Invalid value for field {field['key']} ({kind})", repr(value))


def due_date(value: Any) -> int | None:
    """A task's due date: ms since the epoch, or None to clear it."""
    if value in (None, ""):
        return None
    if isinstance(value, int | str) and str(value).isdigit():
        return int(value)
    raise StreakError(400, "Invalid dueDate", "milliseconds since the epoch expected")


def sharing_entries(entries: Any) -> list[dict[str, Any]]:
    """`[{email}]` as full sharing entries; team members get their names and keys."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise StreakError(400, "Invalid sharing entries", "expected [{email}]")
    members = {user["email"].lower(): user for user in data.USERS}
    resolved = []
    for entry in entries:
        email = str(entry.get("email", ""))
        member = members.get(email.lower())
        outsider = {"email": email, "displayName": email, "fullName": email}
        resolved.append(data.sharing_entry(member) if member else outsider)
    return resolved


class Records:
    def __init__(self, store: DocumentStore, emit: Emit) -> None:
        self.store = store
        self.emit = emit

    def next_key(self, kind: str) -> str:
        """A fresh opaque key; numbers start above the seed data's."""
        with self.store.transaction():
            number = int(self.store.get_meta(f"next_{kind}", "100001") or 100001)
            self.store.set_meta(f"next_{kind}", str(number + 1))
        return data.opaque_key(kind, number)

    def fetch(self, collection: str, key: str) -> dict[str, Any]:
        document = self.store.get(collection, key)
        if document is None:
            raise not_found(key)
        return document

    # ------------------------------------------------------------ boxes

    def boxes(self, pipeline_key: str | None = None) -> list[dict[str, Any]]:
        return [
            box
            for box in self.store.all("boxes")
            if pipeline_key is None or box["pipelineKey"] == pipeline_key
        ]

    def create_box(self, pipeline_key: str, params: dict[str, Any]) -> dict[str, Any]:
        """v2 create: name, stageKey, notes, assignees. Custom fields are set afterwards."""
        owner = pipeline(pipeline_key)
        name = params.get("name")
        if not isinstance(name, str) or not name.strip():
            raise StreakError(400, "Missing parameters", "name")
        stage_key = str(params.get("stageKey") or owner["stageOrder"][0])
        if stage_key not in owner["stages"]:
            raise StreakError(400, "Invalid stage key", stage_key)
        key, moment = self.next_key("Box"), now_ms()
        assignees = params.get("assignedToSharingEntries")
        box = data.box_template(key, pipeline_key, moment) | {
            "name": name.strip(),
            "notes": str(params.get("notes") or ""),
            "stageKey": stage_key,
            "assignedToSharingEntries": sharing_entries(assignees) if assignees else [],
        }
        self.store.put("boxes", key, box)
        self.emit("BOX_CREATE", pipeline_key, key, [box])
        return box

    def update_box(self, box_key: str, params: dict[str, Any]) -> dict[str, Any]:
        """Apply the writable properties (fields merge, lists replace) and fire the events."""
        with self.store.transaction():
            box = self.fetch("boxes", box_key)
            before = {name: box.get(name) for name in BOX_WRITABLE}
            owner = pipeline(box["pipelineKey"])
            for name in BOX_WRITABLE:
                if name in params:
                    self._apply(box, owner, name, params[name])
            changed = [name for name in BOX_WRITABLE if box.get(name) != before[name]]
            if changed:
                box["lastUpdatedTimestamp"] = box["lastSavedTimestamp"] = now_ms()
                if "stageKey" in changed:
                    box["lastStageChangeTimestamp"] = box["lastUpdatedTimestamp"]
                self.store.put("boxes", box_key, box)
        if "stageKey" in changed:
            self.emit("BOX_CHANGE_STAGE", box["pipelineKey"], box_key, [box])
        if any(name in BOX_EDIT_TRIGGERS for name in changed):
            self.emit("BOX_EDIT", box["pipelineKey"], box_key, [box])
        return box

    def _apply(self, box: dict, owner: dict, name: str, value: Any) -> None:
        if name == "stageKey":
            if str(value) not in owner["stages"]:
                raise StreakError(400, "Invalid stage key", str(value))
            box["stageKey"] = str(value)
        elif name == "fields":
            if not isinstance(value, dict):
                raise StreakError(400, "Invalid fields", "expected a map of field key to value")
            definitions = {field["key"]: field for field in owner["fields"]}
            merged = dict(box["fields"])
            for field_key, field_value in value.items():
                if field_key not in definitions:
                    raise StreakError(400, "Invalid field key", field_key)
                if field_value is None or field_value == "":
                    merged.pop(field_key, None)
                else:
                    merged[field_key] = encode_field_value(definitions[field_key], field_value)
            box["fields"] = merged
        elif name == "assignedToSharingEntries":
            box[name] = sharing_entries(value)
        elif name in ("contacts", "organizations"):
            collection = name
            if not isinstance(value, list):
                raise StreakError(400, f"Invalid {name}", "expected [{key}]")
            box[name] = [{"key": self.fetch(collection, str(item["key"]))["key"]} for item in value]
        elif name in ("name", "notes"):
            box[name] = str(value)
        else:
            box[name] = list(value) if isinstance(value, list) else value

    def set_field(self, box_key: str, field_key: str, value: Any) -> dict[str, Any]:
        box = self.update_box(box_key, {"fields": {field_key: value}})
        return {"key": field_key, "value": box["fields"].get(field_key)}

    def delete_box(self, box_key: str) -> None:
        box = self.fetch("boxes", box_key)
        self.store.delete("boxes", box_key)
        self.emit("BOX_DELETE", box["pipelineKey"], box_key, [box])

    # ------------------------------------------------------------ comments and tasks

    def add_comment(self, box_key: str, params: dict[str, Any]) -> dict[str, Any]:
        message = params.get("message")
        if not isinstance(message, str) or not message.strip():
            raise StreakError(400, "Missing parameters", "message")
        with self.store.transaction():
            box = self.fetch("boxes", box_key)
            comment = {
                "key": self.next_key("Comment"),
                "boxKey": box_key,
                "pipelineKey": box["pipelineKey"],
                "message": message,
                "timestamp": now_ms(),
                "creatorKey": data.ME["userKey"],
            }
            self.store.put("comments", comment["key"], comment)
            box["commentCount"] += 1
            self.store.put("boxes", box_key, box)
        self.emit("COMMENT_CREATE", box["pipelineKey"], box_key, [comment])
        return comment

    def add_task(self, box_key: str, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise StreakError(400, "Missing parameters", "text")
        assignees = params.get("assignedToSharingEntries") or params.get("assignees") or []
        moment = now_ms()
        with self.store.transaction():
            box = self.fetch("boxes", box_key)
            task = {
                "key": self.next_key("Task"),
                "boxKey": box_key,
                "pipelineKey": box["pipelineKey"],
                "text": text,
                "dueDate": due_date(params.get("dueDate")),
                "status": "NOT_DONE",
                "reminderStatus": "NONE",
                "assignedToSharingEntries": sharing_entries(assignees),
                "creatorKey": data.ME["userKey"],
                "creationTimestamp": moment,
                "lastStatusChangeDate": moment,
            }
            self.store.put("tasks", task["key"], task)
            box["taskTotal"] += 1
            self.store.put("boxes", box_key, box)
        self.emit("TASK_CREATE", box["pipelineKey"], box_key, [task])
        return task

    def update_task(self, task_key: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            task = self.fetch("tasks", task_key)
            was_done = task["status"] == "DONE"
            if "text" in params:
                task["text"] = str(params["text"])
            if "dueDate" in params:
                task["dueDate"] = due_date(params["dueDate"])
            if "status" in params:
                if params["status"] not in ("DONE", "NOT_DONE"):
                    raise StreakError(400, "Invalid status", str(params["status"]))
                task["status"] = params["status"]
                task["lastStatusChangeDate"] = now_ms()
            self.store.put("tasks", task_key, task)
            done_now = task["status"] == "DONE"
            box = self.store.get("boxes", task["boxKey"])
            if box and done_now != was_done:
                box["taskCompleteCount"] += 1 if done_now else -1
                self.store.put("boxes", box["key"], box)
        if done_now and not was_done:
            self.emit("TASK_COMPLETE", task["pipelineKey"], task["boxKey"], [task])
        return task

    # ------------------------------------------------------------ contacts and organizations

    def save_contact(
        self, params: dict[str, Any], key: str | None = None, if_existing: bool = False
    ) -> dict[str, Any]:
        """Create (key None) or update a team contact; `if_existing` looks up by email."""
        emails = params.get("emailAddresses") or []
        if len({email.lower() for email in emails}) != len(emails):
            raise StreakError(
                400, f"Contacts can't have duplicate emails: {', '.join(emails)}", code=801
            )
        if if_existing:
            wanted = {email.lower() for email in emails}
            for contact in self.store.all("contacts"):
                if wanted & {email.lower() for email in contact["emailAddresses"]}:
                    return contact
        return self._save("contacts", "TeamContact", CONTACT_FIELDS, params, key)

    def save_organization(
        self, params: dict[str, Any], key: str | None = None, if_existing: bool = False
    ) -> dict[str, Any]:
        """Create (key None) or update an organization; `if_existing` looks up by domain."""
        if if_existing:
            wanted = {domain.lower() for domain in params.get("domains") or []}
            for organization in self.store.all("organizations"):
                if wanted & {domain.lower() for domain in organization["domains"]}:
                    return organization
        return self._save("organizations", "Organization", ORGANIZATION_FIELDS, params, key)

    def _save(
        self, collection: str, kind: str, names: tuple[str, ...], params: dict, key: str | None
    ) -> dict[str, Any]:
        values = {name: params[name] for name in names if name in params}
        event = "CONTACT" if collection == "contacts" else "ORG"
        moment = now_ms()
        if key is None:
            if collection == "contacts" and not (
                values.get("givenName") or values.get("familyName") or values.get("emailAddresses")
            ):
                raise StreakError(400, "Need to specify at least a name or email address")
            if collection == "organizations" and not values.get("name"):
                raise StreakError(400, "Missing parameters", "name")
            blank = {name: [] if name in LIST_FIELDS else "" for name in names}
            document = blank | {"relationships": {}} | values
            document |= {
                "key": self.next_key(kind),
                "teamKey": data.TEAM_KEY,
                "creationDate": moment,
                "lastSavedTimestamp": moment,
            }
            if collection == "organizations":
                document["employeeCount"] = values.get("employeeCount", 0)
            self.store.put(collection, document["key"], document)
            self.emit(f"{event}_CREATE", data.TEAM_KEY, None, [document])
            return document
        document = self.fetch(collection, key) | values | {"lastSavedTimestamp": moment}
        self.store.put(collection, key, document)
        self.emit(f"{event}_UPDATE", data.TEAM_KEY, None, [document])
        return document
