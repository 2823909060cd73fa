"""Where everything of one lab lives: namespace names, addresses and paths.

All of it derives from the working directory and the node count, so a second
process (``ocfkit lab down`` after a crashed test) finds the same names
without asking anyone, and two labs in two working directories never collide.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

MAX_NODES = 16
DEFAULT_SUBNET = "192.168.77"
#: The interface each node sees; the bridge side is ``v<node>``.
NODE_INTERFACE = "eth0"
BRIDGE = "br0"
#: Inside each node's private /run: the host's provider directories, seen again.
HOST_RESOURCE_D = "/run/ocfkit-lab/host-resource.d"
OCF_RESOURCE_D = "/usr/lib/ocf/resource.d"
#: The agents' HA_RSCTMP inside each node (on its private /run).
RSCTMP = "/run/resource-agents"

# Paths end up in corosync.conf, ganesha.conf and an overlay mount option,
# where whitespace, quotes, ':' and ',' would need escaping that none of them
# offers.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]*$")
_SUBNET = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")


def node_names(count: int) -> tuple[str, ...]:
    if not 1 <= count <= MAX_NODES:
        raise ValueError(f"a lab has 1 to {MAX_NODES} nodes, not {count}")
    return tuple(f"node{i}" for i in range(1, count + 1))


def check_subnet(subnet: str) -> str:
    """A /24 given by its first three octets, e.g. ``192.168.77``."""
    match = _SUBNET.match(subnet)
    if not match or any(int(part) > 255 for part in match.groups()):
        raise ValueError(f"subnet must be three octets such as 192.168.77, not {subnet!r}")
    return subnet


@dataclass(frozen=True)
class Layout:
    workdir: Path
    nodes: tuple[str, ...]
    subnet: str = DEFAULT_SUBNET

    @classmethod
    def create(
        cls, workdir: str | os.PathLike[str], nodes: int, subnet: str = DEFAULT_SUBNET
    ) -> Layout:
        path = Path(workdir).absolute()
        if not _SAFE_PATH.match(str(path)):
            raise ValueError(
                f"lab working directory {str(path)!r} may contain only letters, digits"
                " and . _ / + -"
            )
        return cls(path, node_names(nodes), check_subnet(subnet))

    @property
    def lab_id(self) -> str:
        """Six hex digits naming this lab's namespaces (from the working directory)."""
        return lab_id_for(self.workdir)

    @property
    def prefix(self) -> str:
        return namespace_prefix(self.workdir)

    @property
    def bridge_namespace(self) -> str:
        return f"{self.prefix}br"

    def namespace(self, node: str) -> str:
        self.check_node(node)
        return f"{self.prefix}{node}"

    def namespaces(self) -> list[str]:
        return [self.bridge_namespace, *(self.namespace(n) for n in self.nodes)]

    def index(self, node: str) -> int:
        self.check_node(node)
        return self.nodes.index(node) + 1

    def address(self, node: str) -> str:
        return f"{self.subnet}.{10 + self.index(node)}"

    def bridge_port(self, node: str) -> str:
        return f"v{node}"

    def check_node(self, node: str) -> None:
        if node not in self.nodes:
            raise ValueError(f"no node {node!r} in this lab (nodes: {' '.join(self.nodes)})")

    # -- files -------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.workdir / "lab.json"

    @property
    def lock_file(self) -> Path:
        return self.workdir / "lab.lock"

    @property
    def fence_bin(self) -> Path:
        """Laid over the nodes' /usr/sbin: where pacemaker-fenced looks for fence_*."""
        return self.workdir / "fence-bin"

    @property
    def fence_log(self) -> Path:
        return self.workdir / "fence.log"

    @property
    def shims_root(self) -> Path:
        """The OCF root the lab installs agents into (``<root>/resource.d/<provider>``)."""
        return self.workdir / "ocf"

    def node_dir(self, node: str) -> Path:
        self.check_node(node)
        return self.workdir / "nodes" / node

    def resource_d(self, node: str) -> Path:
        """Mounted over the node's /usr/lib/ocf/resource.d."""
        return self.node_dir(node) / "resource.d"

    def bus_socket(self, node: str) -> Path:
        return self.node_dir(node) / "dbus" / "system_bus_socket"


def lab_id_for(workdir: str | Path) -> str:
    return hashlib.sha256(str(Path(workdir).absolute()).encode()).hexdigest()[:6]


def namespace_prefix(workdir: str | Path) -> str:
    return f"olab-{lab_id_for(workdir)}-"
