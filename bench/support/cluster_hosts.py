"""The hosts of bench/cluster.py: one Linux network namespace each ("cc-<name>"), joined by a
veth pair to a bridge in the root namespace, where PostgreSQL and the sandboxes listen on the
bridge's address. Each host has its own network stack (its own loopback, address and
sockets); they share the file system and the kernel, as containers on one machine do.

Every process a host runs is started with `ip netns exec`, so "losing a host" is SIGKILL to
every process in its namespace at once (`ip netns pids`), with no chance to hand runs back.
`Network.down` always leaves nothing behind: processes killed, namespaces and bridge gone.
"""

import contextlib
import fcntl
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "cc-"  # namespaces and links this harness owns
BRIDGE = "cc-br0"
SUBNET = "10.207.0"
ROOT_ADDRESS = f"{SUBNET}.1"  # PostgreSQL and the sandboxes, as the hosts see them
PG_PORT = 15432
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
PG_FOLDER_PREFIX = "clarity-cluster-pg-"
LOCK_FILE = Path(tempfile.gettempdir()) / "clarity-cluster.lock"


@dataclass(frozen=True)
class Host:
    name: str  # e.g. "web1", "worker3"
    number: int  # its address is SUBNET.<number>

    @property
    def namespace(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.number}"


def ip(*args: str, check: bool = True) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout


def namespaces_possible() -> str:
    """ "" if this machine lets us make network namespaces, else why not."""
    if os.geteuid() != 0:
        return "the cluster test needs root (it makes network namespaces)"
    if shutil.which("ip") is None:
        return "the cluster test needs iproute2 (`ip`)"
    if not PG_BIN:
        return "the cluster test needs PostgreSQL: run scripts/setup.sh --browser"
    probe = f"{PREFIX}probe"
    try:
        ip("netns", "add", probe)
    except RuntimeError as error:
        return f"network namespaces are not possible here: {error}"
    ip("netns", "del", probe, check=False)
    return ""


@contextlib.contextmanager
def one_run_at_a_time() -> Iterator[None]:
    """Hold the machine's cluster lock: a second run (another `make test`, `make bench`) would
    otherwise tear down this one's namespaces and bridge when it makes its own."""
    with LOCK_FILE.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("Another cluster run holds the machine: waiting for it.", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class Network:
    """The bridge, and a namespace with a veth into it for each host."""

    def __init__(self, hosts: list[Host]) -> None:
        self.hosts = hosts

    def up(self) -> None:
        self.down()  # what an earlier run that was killed may have left
        ip("link", "add", BRIDGE, "type", "bridge")
        ip("addr", "add", f"{ROOT_ADDRESS}/24", "dev", BRIDGE)
        ip("link", "set", BRIDGE, "up")
        for host in self.hosts:
            outside, inside = f"{PREFIX}v{host.number}", f"{PREFIX}h{host.number}"
            ip("netns", "add", host.namespace)
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", host.namespace)
            ip("link", "set", outside, "master", BRIDGE)
            ip("link", "set", outside, "up")
            inns = ("netns", "exec", host.namespace, "ip")
            ip(*inns, "addr", "add", f"{host.address}/24", "dev", inside)
            ip(*inns, "link", "set", inside, "up")
            ip(*inns, "link", "set", "lo", "up")

    def down(self) -> None:
        """Kill every process in our namespaces, then delete them and the bridge."""
        ours = [name.split()[0] for name in ip("netns", "list").splitlines()]
        for namespace in [name for name in ours if name.startswith(PREFIX)]:
            kill_namespace(namespace)
            ip("netns", "del", namespace, check=False)
        for host in self.hosts:  # a namespace goes away in the background: its veth now
            ip("link", "del", f"{PREFIX}v{host.number}", check=False)
        ip("link", "del", BRIDGE, check=False)


def namespace_pids(namespace: str) -> list[int]:
    """Every process running in the namespace."""
    return [int(pid) for pid in ip("netns", "pids", namespace, check=False).split()]


def kill_namespace(namespace: str) -> list[int]:
    """SIGKILL every process in the namespace at once; their pids."""
    pids = namespace_pids(namespace)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    return pids


def spawn(host: Host, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`python <args>` inside the host's namespace, in a process group of its own."""
    with log.open("ab") as output:
        return subprocess.Popen(
            ["ip", "netns", "exec", host.namespace, sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class PostgreSQL:
    """A throwaway server listening on the bridge's address (tests/integration/
    test_postgresql.py starts one the same way, on loopback, which no namespace reaches).
    `max_connections` must cover every thread of every host: a worker host opens one
    connection per run in flight (flows/inflight.py)."""

    def __init__(self, max_connections: int) -> None:
        if not PG_BIN:
            raise RuntimeError("PostgreSQL is not installed: run scripts/setup.sh --browser.")
        self.bin = Path(PG_BIN[-1])
        self.max_connections = max_connections
        stop_leftover_servers(self.bin)
        self.data = Path(tempfile.mkdtemp(prefix=PG_FOLDER_PREFIX))
        shutil.chown(self.data, "postgres")
        self.url = f"postgres://postgres@{ROOT_ADDRESS}:{PG_PORT}/postgres"

    def run(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr.strip()[-500:]}")

    def start(self) -> None:
        db = str(self.data / "db")
        self.run(str(self.bin / "initdb"), "-D", db, "-U", "postgres", "--auth=trust")
        with (self.data / "db" / "pg_hba.conf").open("a") as rules:  # the hosts, on the bridge
            rules.write(f"host all all {SUBNET}.0/24 trust\n")
        options = (
            f"-p {PG_PORT} -k {self.data} -c listen_addresses={ROOT_ADDRESS} "
            f"-c max_connections={self.max_connections} -c fsync=off"
        )
        log = str(self.data / "log")
        self.run(str(self.bin / "pg_ctl"), "-D", db, "-w", "-l", log, "-o", options, "start")

    def stop(self) -> None:
        if (self.data / "db" / "postmaster.pid").exists():
            self.run(str(self.bin / "pg_ctl"), "-D", str(self.data / "db"), "-m", "immediate",
                     "stop")  # fmt: skip
        shutil.rmtree(self.data, ignore_errors=True)

    def log_tail(self, chars: int) -> str:
        """The end of the server's log, e.g. "too many clients" when max_connections is short."""
        log = self.data / "log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


def stop_leftover_servers(pg_bin: Path) -> None:
    """Stop the server of an earlier run that was killed: it would still hold PG_PORT on the
    bridge's address, and the new server could not bind it."""
    for pid_file in glob.glob(f"{tempfile.gettempdir()}/{PG_FOLDER_PREFIX}*/db/postmaster.pid"):
        data = Path(pid_file).parent
        command = [str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True,
                       timeout=60)  # fmt: skip
        shutil.rmtree(data.parent, ignore_errors=True)


def wait_until(check, seconds: float, what: str) -> None:
    """Call `check` until it is true; after `seconds`, say what did not happen."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} within {seconds:.0f} s")
