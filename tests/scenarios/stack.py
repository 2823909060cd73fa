"""What runs on the scenario cluster: which agents, which configuration, what they log.

The same lab, breakages and measurements serve three stacks, so figures are
comparable:

- ``takeover``: ganesha_mon and ganesha_takeover with the takeover layout
  (the project's configuration);
- ``compat``: ganesha_mon and ganesha_grace with GlusterFS 3.7's layout, the
  configuration of an existing cluster that upgraded the agents first;
- ``gluster37``: GlusterFS 3.7's own shell agents (a directory the person
  running the scenarios provides; none of their code is part of this
  project) with GlusterFS 3.7's layout.

GlusterFS 3.7's ganesha_mon reads ``/var/run/ganesha.pid`` where a file
``/usr/lib/systemd/system/nfs-ganesha.service`` exists (Debian 12's
nfs-ganesha package installs one, and ``/lib`` is ``/usr/lib`` there), else
``/var/run/ganesha.nfsd.pid``; ganesha writes its pid where the agent on
this machine looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganesha_agents.config import Layout

OURS = ("ganesha_mon", "ganesha_grace", "ganesha_takeover")
GLUSTER37_AGENTS = ("ganesha_mon", "ganesha_grace")


def gluster37_pid_file() -> str:
    """Where GlusterFS 3.7's ganesha_mon looks for ganesha's pid file on this machine."""
    if Path("/usr/lib/systemd/system/nfs-ganesha.service").exists():
        return "/run/ganesha.pid"
    return "/run/ganesha.nfsd.pid"


@dataclass(frozen=True)
class Stack:
    name: str
    layout: Layout
    #: The provider the agents are installed as (ocf:<provider>:<agent>).
    provider: str
    #: ocfkit agents installed as shims, or None for ``scripts``.
    agents: tuple[str, ...] | None = OURS
    #: A directory of shell agents installed as they are (GlusterFS 3.7's).
    scripts: Path | None = None
    ganesha_pid_file: str = "/run/ganesha/ganesha.pid"
    #: ganesha_mon's grace_delay, when the stack's configuration sets one.
    grace_delay: int | None = None

    @property
    def takes_over_by_address(self) -> bool:
        """``5:<VIP>`` (takeover layout) rather than ``5:<node>`` (3.7 layout)."""
        return self.layout is Layout.TAKEOVER


TAKEOVER = Stack("takeover", Layout.TAKEOVER, provider="ganesha")
COMPAT = Stack("compat", Layout.GLUSTER_37, provider="ganesha")


def gluster37(directory: Path) -> Stack:
    """GlusterFS 3.7's ganesha_mon and ganesha_grace, from ``directory``."""
    missing = [a for a in GLUSTER37_AGENTS if not (directory / a).is_file()]
    if missing:
        raise ValueError(f"{directory} lacks {' and '.join(missing)}")
    return Stack(
        "gluster37",
        Layout.GLUSTER_37,
        provider="gluster37",
        agents=None,
        scripts=directory,
        ganesha_pid_file=gluster37_pid_file(),
    )
