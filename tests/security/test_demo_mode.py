"""The demo's well-known accounts (admin / clarity-demo…) exist only in demo mode, and a demo
never serves other machines: every way of starting refuses when ALLOWED_HOSTS reaches beyond
loopback. Started for real, in subprocesses, as `make run` and the Procfile do."""

import os
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from connectors.models import Connection

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
EXPOSED = "clarity.example.com"


def environment(**values: str) -> dict[str, str]:
    """This process's environment without the settings the test chooses itself."""
    chosen = ("CLARITY_DEMO", "ALLOWED_HOSTS")
    env = {key: value for key, value in os.environ.items() if key not in chosen}
    return {**env, **values}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(env: dict[str, str], port: int) -> subprocess.Popen:
    """The Procfile's web process on a port of its own."""
    return subprocess.Popen(
        [GUNICORN, "--workers", "1", "--bind", f"127.0.0.1:{port}", "--no-control-socket",
         "clarity.wsgi"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip


@pytest.mark.django_db
def test_seed_demo_outside_demo_mode_creates_no_account_and_says_how_to_start(settings):
    settings.CLARITY_DEMO = False
    out = StringIO()

    call_command("seed_demo", stdout=out)

    assert not get_user_model().objects.exists()
    assert not Connection.objects.exists()
    said = out.getvalue()
    assert "Demo mode is off" in said and "make run" in said
    assert "manage.py createsuperuser" in said and "Running in production" in said


def test_check_and_migrate_refuse_a_demo_that_other_machines_reach():
    env = environment(CLARITY_DEMO="1", ALLOWED_HOSTS=f"localhost,{EXPOSED}")
    for command in (["check"], ["migrate", "--plan"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=settings.BASE_DIR, env=env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr
        assert "clarity.E001" in result.stderr
        assert f"ALLOWED_HOSTS lets in '{EXPOSED}'" in result.stderr
        assert "manage.py createsuperuser" in result.stderr


def test_check_passes_a_loopback_demo_and_a_production_server():
    for env in (environment(CLARITY_DEMO="1", ALLOWED_HOSTS="127.0.0.1,localhost,::1"),
                environment(ALLOWED_HOSTS=EXPOSED)):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, env=env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr


def test_gunicorn_refuses_to_serve_a_demo_that_other_machines_reach():
    """gunicorn runs no system check: clarity/wsgi.py refuses, and gunicorn exits."""
    port = free_port()
    server = start_gunicorn(environment(CLARITY_DEMO="1", ALLOWED_HOSTS=EXPOSED), port)
    try:
        output, _ = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        output, _ = server.communicate()
        pytest.fail(f"gunicorn served the exposed demo:\n{output[-2000:]}")
    assert server.returncode != 0
    assert f"ALLOWED_HOSTS lets in '{EXPOSED}'" in output


def test_gunicorn_serves_the_demo_on_this_machine():
    port = free_port()
    server = start_gunicorn(environment(CLARITY_DEMO="1"), port)
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            except requests.RequestException:  # still booting
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200, server.poll()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=30)
