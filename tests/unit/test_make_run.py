"""`make run`: what it prints holds no secret, and Ctrl-C in its terminal stops every process
cleanly: honcho sends each process group SIGTERM, and the worker, under scripts/supervise.sh,
hands its runs back and stops rather than being started again; make waits for all that."""

import contextlib
import os
import pty
import re
import select
import signal
import time
import uuid
from pathlib import Path

from sandbox.salesforce.app import without_token

ROOT = Path(__file__).resolve().parents[2]
# A worker that, told to stop, says so and exits 0, as run_workers does after handing back
# its runs; and a web process. Each names `{marker}`, to be found if left behind.
PROCFILE = (
    "worker: exec scripts/supervise.sh sh -c "
    "'trap \"echo runs handed back; exit 0\" TERM; while :; do sleep 0.1; done' {marker}\n"
    "web: exec sh -c 'sleep 60' {marker}\n"
)


def test_the_salesforce_sandbox_names_the_pairs_webhook_without_its_token():
    url = "http://127.0.0.1:8000/hooks/salesforce-sage100/H2bZvJ-v54oOCODjtljPCtI/"

    shown = without_token(url)

    assert "H2bZvJ" not in shown
    assert shown.startswith("http://127.0.0.1:8000/hooks/salesforce-sage100/")


def honcho_recipe(procfile: Path) -> str:
    """The Makefile's `run` line that starts honcho, on the test's Procfile."""
    makefile = (ROOT / "Makefile").read_text()
    line = next(line for line in makefile.splitlines() if "honcho start" in line)
    return line.replace("honcho start", f"honcho -f {procfile} -d {ROOT} start")


def read_until(fd: int, text: str, seconds: float) -> str:
    seen, deadline = "", time.monotonic() + seconds
    while text not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the terminal closed: everything has exited
                break
            seen += chunk.decode(errors="replace")
    return seen


def test_ctrl_c_in_the_terminal_stops_the_worker_cleanly_and_nothing_is_left(tmp_path):
    procfile, makefile = tmp_path / "Procfile", tmp_path / "Makefile"
    marker = f"clarity-make-run-{uuid.uuid4().hex}"
    procfile.write_text(PROCFILE.format(marker=marker))
    makefile.write_text(f"run:\n{honcho_recipe(procfile)}\n")
    pid, terminal = pty.fork()
    if pid == 0:  # the child: `make run` in a terminal of its own
        os.chdir(ROOT)
        os.execvp("make", ["make", "-s", "-f", str(makefile), "run"])
    try:
        output = read_until(terminal, "web.1 started", 15)
        time.sleep(0.5)
        os.write(terminal, b"\x03")  # Ctrl-C, as a person presses it
        output += read_until(terminal, "\0", 15)
        os.waitpid(pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        os.close(terminal)

    output = re.sub(r"\x1b\[[0-9;]*m", "", output)
    assert "runs handed back" in output and "worker.1 stopped (rc=0)" in output, output
    assert "web.1 stopped" in output
    assert "starting it again" not in output and "Traceback" not in output
    assert "Error 130" not in output  # make says the way out was an error, at worst "Interrupt"
    assert not still_running(marker)


def still_running(marker: str) -> list[str]:
    """Processes of the test's Procfile left behind."""
    left = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if marker in command:
                left.append(command)
    return left
