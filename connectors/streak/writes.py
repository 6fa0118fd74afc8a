"""Streak writes: boxes, comments, contacts and organizations made or changed, the write half
of `StreakConnector`.

Streak has no idempotency keys. Updates are idempotent by nature (the same values twice are
the same box). Creates look up before they create, so a retried create finds what the first
attempt made instead of making a second one:
- Box: by exact name in the pipeline (give boxes unique names, e.g. with the deal number);
  the fields and stage are then applied to the box found or made, so a retry converges.
- Comment: by identical message on the same box (write-back messages carry their own
  reference, such as the order number, so identical text is the same note). A caller that
  knows it never posted before (a first try) may skip that look-up.
- Contact: by any of its email addresses. Organization: by exact name (any case).
"""

from typing import Any

from connectors.base import Record
from connectors.errors import ValidationError
from connectors.streak.client import SYSTEM, path_key
from connectors.streak.fields import ENTITIES, unknown_entity

BOX_PROPERTIES = {"name", "notes", "stage", "stageKey", "fields", "assignees"}
BOX_CREATE_PROPERTIES = {"name", "notes", "stageKey", "assignedToSharingEntries"}


class StreakWrites:
    """Placed first in `StreakConnector`'s bases; `client`, `pipeline`, `pipeline_key`,
    `resolve_stage`, `decoded_box`, `get`, `search`, `search_boxes` and `team_key` are the
    connector's."""

    client: Any  # StreakClient
    pipeline: Any
    pipeline_key: str
    resolve_stage: Any
    decoded_box: Any
    get: Any
    search: Any
    search_boxes: Any
    team_key: Any

    def create(self, entity: str, data: Record, idempotency_key: str) -> Record:
        """Look up, then create (see the module docstring); `idempotency_key` is not sent:
        Streak has none, the lookup is what makes a retry safe."""
        if entity == "Box":
            return self.create_box(data)
        if entity == "Comment":
            return self.add_comment(data["boxKey"], data["message"])
        if entity == "Contact":
            for email in data.get("emailAddresses") or []:
                if found := self.search("Contact", email=email):
                    return found[0]
            return self.client.post(f"/v2/teams/{path_key(self.team_key())}/contacts", data)
        if entity == "Organization":
            if data.get("name") and (found := self.search("Organization", name=data["name"])):
                return found[0]
            return self.client.post(f"/v2/teams/{path_key(self.team_key())}/organizations", data)
        if entity in ENTITIES:
            return super().create(entity, data, idempotency_key)
        raise unknown_entity(entity)

    def update(self, entity: str, key: str, data: Record, idempotency_key: str) -> Record:
        """Box: `name`, `notes`, `stage` (name or key), `fields` by name, `assignees` (emails);
        any other key is taken as a field name. Contact, Organization: Streak's own fields."""
        if entity == "Box":
            return self.write_box(key, data)
        if entity in ("Contact", "Organization"):
            collection = "contacts" if entity == "Contact" else "organizations"
            return self.client.post(f"/v2/{collection}/{path_key(key)}", data)
        if entity in ENTITIES:
            return super().update(entity, key, data, idempotency_key)
        raise unknown_entity(entity)

    def write_back(
        self, box_key: str, fields_by_name: dict[str, Any], stage_name: str = ""
    ) -> Record:
        """Set fields (by name, encoded by type) and optionally the stage, in one call."""
        return self.write_box(box_key, {"fields": fields_by_name, "stage": stage_name})

    def box_changes(self, data: Record) -> dict[str, Any]:
        """A box write as Streak's update body; every bad value is refused before sending."""
        values = dict(data.get("fields") or {})
        values |= {name: value for name, value in data.items() if name not in BOX_PROPERTIES}
        body: dict[str, Any] = {}
        if values:
            try:
                body["fields"] = self.pipeline().encode(values)
            except ValidationError:
                body["fields"] = self.pipeline(refresh=True).encode(values)  # a field was added
        if data.get("stage") or data.get("stageKey"):
            body["stageKey"] = self.resolve_stage(data.get("stage") or data["stageKey"])
        for name in ("name", "notes"):
            if data.get(name) is not None:
                body[name] = data[name]
        if data.get("assignees") is not None:
            body["assignedToSharingEntries"] = [{"email": email} for email in data["assignees"]]
        return body

    def write_box(self, box_key: str, data: Record) -> Record:
        body = self.box_changes(data)
        if not body:
            return self.get("Box", box_key)
        return self.decoded_box(self.client.post(f"/v1/boxes/{path_key(box_key)}", body))

    def create_box(self, data: Record) -> Record:
        """Find the box by exact name in the pipeline or create it, then apply the rest."""
        name = str(data.get("name") or "").strip()
        if not name:
            raise ValidationError(
                "A Streak box needs a name", system=SYSTEM, fields={"name": "required"}
            )
        body = self.box_changes(data)  # refuses bad values before anything is written
        if found := self.search_boxes(name=name):
            box, rest = found[0], {k: v for k, v in body.items() if k != "name"}
        else:
            first = {k: v for k, v in body.items() if k in BOX_CREATE_PROPERTIES}
            box = self.client.post(f"/v2/pipelines/{path_key(self.pipeline_key)}/boxes", first)
            rest = {k: v for k, v in body.items() if k not in BOX_CREATE_PROPERTIES}
        if rest:  # Streak's create takes no custom fields: they follow in an update
            box = self.client.post(f"/v1/boxes/{path_key(box['key'])}", rest)
        return self.decoded_box(box)

    def add_comment(self, box_key: str, message: str, check_existing: bool = True) -> Record:
        """Post a comment on a box unless the box already has one with this exact message;
        `check_existing=False` posts without looking (the caller knows it never posted it)."""
        if check_existing:
            for comment in self.search("Comment", box_key=box_key):
                if comment.get("message") == message:
                    return comment
        return self.client.post(f"/v2/boxes/{path_key(box_key)}/comments", {"message": message})
