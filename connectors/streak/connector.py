"""The Streak connector: boxes (deals) of the configured pipeline with their fields by name,
contacts, organizations, stages and comments; write-back of fields and stage (`writes`);
webhooks (`webhooks`).

Pipeline definitions (field names and stage names to keys) are shared by this process's
connectors of one connection for `PIPELINE_TTL_SECONDS`: a box with a field or stage the
cached copy lacks, a write naming one, or a won deal whose mappings read a field by a name
it lacks (renamed since), reads the pipeline again before anything fails.
"""

import time
from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from connectors.base import Connector, FieldInfo, Health, Record
from connectors.errors import AuthError, ConnectorError, NotFound, Unsupported, ValidationError
from connectors.streak.client import (
    DEFAULT_BASE_URL,
    DEFAULT_RATE,
    SYSTEM,
    StreakClient,
    path_key,
)
from connectors.streak.crm import StreakCrm
from connectors.streak.fields import (
    ENTITIES,
    STANDARD_FIELDS,
    PipelineDefinition,
    to_ms,
    unknown_entity,
)
from connectors.streak.webhooks import WebhookAdmin
from connectors.streak.writes import StreakWrites

BOX_PAGE_SIZE = 1000  # Streak's largest page of boxes
PIPELINE_TTL_SECONDS = 900.0  # a pipeline changes rarely; a miss reads it again anyway
# (connection id, its creation time, base URL, pipeline key) -> (expires at, definition)
PIPELINES: dict[tuple[Any, ...], tuple[float, PipelineDefinition]] = {}


class StreakConnector(StreakWrites, WebhookAdmin, StreakCrm, Connector):
    system = "streak"
    label = "Streak"
    supports_webhook_registration = True

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.client = StreakClient(
            self.settings.get("base_url") or DEFAULT_BASE_URL,
            self.secrets.get("api_key", ""),
            rate=float(self.settings.get("requests_per_second") or DEFAULT_RATE),
            throttle_key=f"streak:{connection.pk}",
        )
        # Saved connections share the process's cache; an unsaved one (a form being
        # tested) keeps its own.
        self._pipelines = PIPELINES if connection.pk else {}
        base_url = self.client.http.base_url
        self._pipeline_scope = (connection.pk, str(connection.created_at), base_url)

    # ------------------------------------------------------------ health

    def test(self) -> Health:
        """Who the key belongs to, in which team, and whether the chosen pipeline is there."""
        try:
            me = self.client.get("/v1/users/me")
            teams = self.client.get("/v2/users/me/teams").get("results") or []
            who = f"{me.get('displayName') or me.get('email')} ({me.get('email')})"
            team = f", team {teams[0]['name']}" if teams else ""
            summary = f"Connected to Streak as {who}{team}"
            if not self.settings.get("pipeline_key"):
                names = self.pipeline_choices()
                return Health(
                    ok=True,
                    message=f"{summary}. No pipeline chosen yet; this key sees "
                    + ", ".join(names.values()),
                    details={"pipelines": names},
                )
            try:
                pipeline = self.pipeline(refresh=True)
            except NotFound:
                names = self.pipeline_choices()
                listing = ", ".join(f"{name} ({key})" for key, name in names.items())
                return Health(
                    ok=False,
                    message=f"{summary}, but the key sees no pipeline "
                    f"{self.settings['pipeline_key']}; it sees {listing or 'none'}.",
                    details={"pipelines": names},
                )
            return Health(
                ok=True,
                message=f"{summary}; pipeline {pipeline.name} has {len(pipeline.stages)} "
                f"stages and {len(pipeline.fields)} fields.",
            )
        except AuthError as exc:
            return Health(ok=False, message=exc.message, needs_reauth=True)
        except ConnectorError as exc:
            return Health(ok=False, message=exc.message)

    def pipeline_choices(self) -> dict[str, str]:
        """Pipeline key → name, for everything the key can see."""
        return {p["key"]: p["name"] for p in self.client.get("/v1/pipelines")}

    # ------------------------------------------------------------ pipelines and schema

    @property
    def pipeline_key(self) -> str:
        key = self.settings.get("pipeline_key", "")
        if not key:
            raise ValidationError(
                "No Streak pipeline is chosen for this connection; pick one on its page.",
                system=SYSTEM,
                fields={"pipeline_key": "required for boxes, stages and webhooks"},
            )
        return key

    def pipeline(self, key: str = "", refresh: bool = False) -> PipelineDefinition:
        """The pipeline's stages and fields: read again when asked, or when the shared copy
        is older than PIPELINE_TTL_SECONDS."""
        key = key or self.pipeline_key
        cache_key = (*self._pipeline_scope, key)
        cached = self._pipelines.get(cache_key)
        if refresh or cached is None or cached[0] < time.monotonic():
            raw = self.client.get(f"/v1/pipelines/{path_key(key)}")
            cached = (time.monotonic() + PIPELINE_TTL_SECONDS, PipelineDefinition.from_api(raw))
            self._pipelines[cache_key] = cached
        return cached[1]

    def entities(self) -> list[str]:
        return list(ENTITIES)

    def schema(self, entity: str) -> list[FieldInfo]:
        """Standard fields, and for Box the pipeline's own fields read live."""
        if entity not in STANDARD_FIELDS:
            raise unknown_entity(entity)
        standard = [FieldInfo(name=n, label=n, type=t) for n, t in STANDARD_FIELDS[entity]]
        if entity == "Box":
            pipeline = self.pipeline(refresh=True)
            standard[4] = FieldInfo(
                name="stageName",
                label="stageName",
                type="choice",
                choices=tuple(pipeline.stage_name(key) for key in pipeline.stage_order),
            )
            return standard + pipeline.field_infos()
        return standard

    # ------------------------------------------------------------ reads

    def decoded_box(self, raw: Record) -> Record:
        """The box as Streak sent it, plus `stageName` and `fieldsByName` (decoded)."""
        pipeline = self.pipeline(raw["pipelineKey"])
        stage = raw.get("stageKey")
        if not pipeline.knows_fields(set(raw.get("fields") or {})) or (
            stage and str(stage) not in pipeline.stages
        ):
            pipeline = self.pipeline(raw["pipelineKey"], refresh=True)  # added since cached
        return raw | {
            "stageName": pipeline.stage_name(raw.get("stageKey", "")),
            "fieldsByName": pipeline.decode(raw.get("fields") or {}),
        }

    def get(self, entity: str, key: str) -> Record:
        if entity == "Box":
            return self.decoded_box(self.client.get(f"/v1/boxes/{path_key(key)}"))
        if entity == "Contact":
            return self.client.get(f"/v2/contacts/{path_key(key)}")
        if entity == "Organization":
            return self.client.get(f"/v2/organizations/{path_key(key)}")
        if entity == "Stage":
            stage = self.pipeline().stages.get(str(key))
            stage = stage or self.pipeline(refresh=True).stages.get(str(key))
            if stage is None:
                raise NotFound(f"Pipeline {self.pipeline().name} has no stage {key}")
            return stage
        if entity == "Comment":
            raise Unsupported(
                "Streak lists comments per box: search('Comment', box_key=…)", system=SYSTEM
            )
        raise unknown_entity(entity)

    def boxes(
        self, stage: str = "", *, sort_by: str = "", page_size: int = BOX_PAGE_SIZE
    ) -> Iterator[Record]:
        """The pipeline's boxes, optionally in one stage (by name or key), decoded."""
        params: dict[str, Any] = {}
        if stage:
            params["stageKey"] = self.resolve_stage(stage)
        if sort_by:
            params["sortBy"] = sort_by
        path = f"/v1/pipelines/{path_key(self.pipeline_key)}/boxes"
        for page in self.client.v1_pages(path, params, page_size):
            yield from (self.decoded_box(box) for box in page)

    def resolve_stage(self, stage: str | int) -> str:
        key = self.pipeline().stage_key(stage) or self.pipeline(refresh=True).stage_key(stage)
        if key is None:
            names = ", ".join(self.pipeline().stage_name(k) for k in self.pipeline().stage_order)
            raise ValidationError(
                f"Pipeline {self.pipeline().name} has no stage {stage!r}; it has {names}",
                system=SYSTEM,
                fields={"stage": f"not one of {names}"},
            )
        return key

    def changes(self, entity: str, since: datetime) -> Iterator[Record]:
        """Boxes changed at or after `since` (ms precision), oldest first.

        Streak lists boxes newest first by `lastUpdatedTimestamp`, so reading stops at the
        first older box. Only boxes have a change feed; contacts change through team webhooks.
        """
        if entity != "Box":
            return super().changes(entity, since)
        since_ms, changed = to_ms(since), []
        for box in self.boxes(sort_by="lastUpdatedTimestamp"):
            if box["lastUpdatedTimestamp"] < since_ms:
                break
            changed.append(box)
        return iter(reversed(changed))

    def search(self, entity: str, **criteria: Any) -> list[Record]:
        """Box: `name` (exact), `query`, `stage`, or pipeline fields by name (exact values).
        Contact: `email` or `name`. Organization: `name`. Stage: `name`. Comment: `box_key`."""
        if entity == "Box":
            return self.search_boxes(**criteria)
        if entity == "Comment":
            if not criteria.get("box_key"):
                raise ValidationError("Streak lists comments per box: give box_key", system=SYSTEM)
            path = f"/v2/boxes/{path_key(criteria['box_key'])}/comments"
            return list(self.client.v2_results(path))
        if entity == "Stage":
            key = self.pipeline(refresh=True).stage_key(criteria.get("name", ""))
            return [self.pipeline().stages[key]] if key else []
        if entity == "Contact":
            wanted = str(criteria.get("email") or criteria.get("name") or "").strip()
            return [
                c for c in self.search_results("contacts", wanted) if matches_contact(c, criteria)
            ]
        if entity == "Organization":
            name = str(criteria.get("name", "")).strip()
            found = self.search_results("organizations", name)
            return [o for o in found if o.get("name", "").casefold() == name.casefold()]
        raise unknown_entity(entity)

    def search_results(self, kind: str, query: str) -> list[Record]:
        if not query:
            raise ValidationError(f"Say what to search {kind} for", system=SYSTEM)
        return self.client.get("/v1/search", {"query": query})["results"].get(kind) or []

    def search_boxes(self, **criteria: Any) -> list[Record]:
        name, query, stage = (criteria.pop(k, "") for k in ("name", "query", "stage"))
        if name or query:
            params: dict[str, Any] = {"pipelineKey": self.pipeline_key}
            params |= {"name": name} if name else {"query": query}
            if stage:
                params["stageKey"] = self.resolve_stage(stage)
            found = [
                self.decoded_box(box)
                for box in self.client.get("/v1/search", params)["results"]["boxes"]
            ]
        else:
            found = list(self.boxes(stage))
        wanted = {}
        for name, value in criteria.items():
            field = self.pipeline().find_field(name)
            field = field or self.pipeline(refresh=True).find_field(name)  # added since cached
            if field is None:
                raise ValidationError(
                    f"Pipeline {self.pipeline().name} has no field {name!r}",
                    system=SYSTEM,
                    fields={name: "no such field"},
                )
            wanted[field["name"]] = value
        return [
            box for box in found if all(box["fieldsByName"].get(n) == v for n, v in wanted.items())
        ]

    def sample(self, entity: str, n: int = 5) -> list[Record]:
        """Recently changed boxes; stages in board order; for the others, those of the
        recently changed boxes (Streak cannot list contacts, organizations or comments)."""
        if entity not in ENTITIES:
            raise unknown_entity(entity)
        if entity == "Stage":
            pipeline = self.pipeline(refresh=True)
            return [pipeline.stages[key] for key in pipeline.stage_order][:n]
        if entity == "Box":
            return list(islice(self.boxes(sort_by="lastUpdatedTimestamp", page_size=n), n))
        found: dict[str, Record] = {}
        for box in self.boxes(sort_by="lastUpdatedTimestamp"):
            if entity == "Comment":
                has_some = box.get("commentCount")
                items = self.search("Comment", box_key=box["key"]) if has_some else []
            else:  # a box lists its contacts and organizations as [{key}]
                keys = [
                    r["key"] for r in box.get(f"{entity.lower()}s", []) if r["key"] not in found
                ]
                items = [self.get(entity, key) for key in keys[: n - len(found)]]
            found |= {item["key"]: item for item in items}
            if len(found) >= n:
                break
        return list(found.values())[:n]

    def team_key(self) -> str:
        if self.settings.get("pipeline_key") and self.pipeline().team_key:
            return self.pipeline().team_key
        teams = self.client.get("/v2/users/me/teams").get("results") or []
        if not teams:
            raise ValidationError("This Streak API key belongs to no team", system=SYSTEM)
        return teams[0]["key"]


def matches_contact(contact: Record, criteria: dict[str, Any]) -> bool:
    """Exact email (any case) or exact full name (any case)."""
    if email := str(criteria.get("email") or "").casefold():
        return email in {address.casefold() for address in contact.get("emailAddresses") or []}
    full = f"{contact.get('givenName', '')} {contact.get('familyName', '')}".strip()
    return full.casefold() == str(criteria.get("name") or "").strip().casefold()
