"""Structured logs: JSON lines, and every line a run writes carries its run id and pair."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clarity.logs import JSONFormatter, RunContextFilter
from flows.base import Flow, Step
from flows.models import FlowConfig, SyncRun
from flows.registry import FLOWS
from flows.runner import execute_run
from tests.factories import IntegrationPairFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """Everything logged during the test, as parsed JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(RunContextFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous_level)


def log_from_a_step(ctx):
    logging.getLogger("flows.steps.test").info("creating order for %s", ctx.run.entity_key)
    return {}


def fail_in_a_step(ctx):
    raise RuntimeError("boom")


@pytest.fixture
def logging_flow(monkeypatch):
    flow = Flow(
        name="logging_flow",
        label="Logging flow",
        description="A step that logs, then one that fails unexpectedly.",
        steps=(Step("log", log_from_a_step), Step("fail", fail_in_a_step)),
    )
    monkeypatch.setitem(FLOWS, flow.name, flow)
    monkeypatch.setattr("flows.runner.enqueue_id", lambda run_id: None)
    pair = IntegrationPairFactory(name="Logging pair")
    config = FlowConfig.objects.update_or_create(
        pair=pair, flow=flow.name, defaults={"enabled": True}
    )[0]
    return SyncRun.objects.create(flow_config=config, pair=pair, entity_key="box-7")


@pytest.mark.django_db
def test_every_line_of_a_run_carries_its_run_id_and_pair(json_lines, logging_flow):
    logging.getLogger("before").info("outside any run")
    execute_run(logging_flow.pk)
    logging.getLogger("after").info("outside again")
    lines = json_lines()
    by_message = {line["message"]: line for line in lines}
    step_line = by_message["creating order for box-7"]
    assert step_line["run_id"] == logging_flow.pk and step_line["pair"] == "logging-pair"
    assert step_line["level"] == "INFO" and step_line["logger"] == "flows.steps.test"
    assert step_line["time"].endswith("+00:00")
    [failure] = [line for line in lines if line["logger"] == "flows.runner"]
    assert failure["run_id"] == logging_flow.pk and "RuntimeError: boom" in failure["exc"]
    assert "run_id" not in by_message["outside any run"]
    assert "run_id" not in by_message["outside again"]


def test_log_format_json_switches_the_settings_to_json_lines():
    code = "import logging; logging.getLogger('clarity.test').warning('hello %s', 'json')"
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "clarity.settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    [line] = [line for line in result.stderr.splitlines() if "hello" in line]
    entry = json.loads(line)
    assert entry["message"] == "hello json" and entry["logger"] == "clarity.test"
    assert entry["level"] == "WARNING"
