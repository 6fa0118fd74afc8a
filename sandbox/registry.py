"""Which sandboxes exist, where they listen by default, and how to start them together."""

import os
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from sandbox.core.server import RunningSandbox, start


@dataclass(frozen=True)
class SandboxSpec:
    name: str
    title: str
    app_class: str  # "module:Class"; the class takes data_dir
    default_port: int
    credentials: str

    @property
    def port_env(self) -> str:
        return f"SANDBOX_{self.name.upper()}_PORT"

    def port(self) -> int:
        return int(os.environ.get(self.port_env, self.default_port))

    def build(self, data_dir: Path):
        module, _, cls = self.app_class.partition(":")
        return getattr(import_module(module), cls)(data_dir)


SANDBOXES = [
    SandboxSpec(
        "streak", "Streak", "sandbox.streak.app:StreakSandbox", 8101,
        "API key sandbox-streak-key (HTTP Basic user, empty password)",
    ),
    SandboxSpec(
        "sage_accounting", "Sage Accounting (Sage 50 cloud)",
        "sandbox.sage_accounting.app:SageAccountingSandbox", 8102,
        "OAuth client sandbox-client / sandbox-secret",
    ),
    SandboxSpec(
        "salesforce", "Salesforce", "sandbox.salesforce.app:SalesforceSandbox", 8443,
        "OAuth client sandbox-client / sandbox-secret",
    ),
    SandboxSpec(
        "sage100", "Sage 100 (the agent, pages; data over ODBC)",
        "sandbox.sage100.app:Sage100Sandbox", 8104, "agent key sandbox-bridge-key",
    ),
    SandboxSpec(
        "sage50desktop", "Sage 50 (US desktop; agent, pages; data over ODBC)",
        "sandbox.sage50desktop.app:Sage50DesktopSandbox", 8106, "agent key sandbox-agent-key",
    ),
]  # fmt: skip


def start_all(
    data_dir: Path,
    host: str = "127.0.0.1",
    ports: dict[str, int] | None = None,
    names: list[str] | None = None,
) -> dict[str, RunningSandbox]:
    """Start the named sandboxes (all by default); port 0 in `ports` picks a free port."""
    running: dict[str, RunningSandbox] = {}
    try:
        for spec in SANDBOXES:
            if names and spec.name not in names:
                continue
            app = spec.build(Path(data_dir))
            port = (ports or {}).get(spec.name, spec.port())
            running[spec.name] = start(spec.name, app, host, port, app.ssl_context())
    except BaseException:
        for sandbox in running.values():
            sandbox.stop()
        raise
    return running
