"""The configuration files a lab node starts from, as text.

Pure functions, so the choices they encode are testable without a cluster:

- corosync: knet without crypto (the bridge is private), ``token: 1000`` so a
  lost node is noticed in about a second, knet pinging every 100 ms and
  trusting a link after one answer (membership forms in about 1 s instead
  of 2 to 3 s; the 500 ms before a silent link counts as down is knet's
  default for this token), logging to a file because no syslog daemon runs
  here;
- the CIB is seeded before Pacemaker first starts: ``dc-deadtime=2s`` instead
  of the default 20 s wait for an election, and the fence device, so the
  cluster is up and can fence within seconds;
- ganesha: NFSv4 only (no rpcbind), absolute paths everywhere (the daemon
  chdirs to /), ``Enable_NLM = true`` and ``Graceless = false`` so that
  grace lasts its full period even with no client to reclaim; the export
  (read-write, root not squashed, as the cluster's shared storage would be)
  is open to the lab's own subnet and to nobody else;
- the node's system bus: only root may connect, only root may own or call
  ``org.ganesha.nfsd``, and nothing is started on demand (no activation
  helper, no service directories), unlike the host's system bus
  configuration, which would let any local user start system services
  inside the node.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ocfkit.lab.layout import Layout

CLUSTER_NAME = "ocfkit-lab"
FENCE_DEVICE_ID = "lab-fence"
#: Pacemaker 2.1.5's own values (``cibadmin --empty``).
CIB_FEATURE_SET = "3.16.1"
CIB_SCHEMA = "pacemaker-3.9"


def corosync_conf(layout: Layout, logfile: Path) -> str:
    nodelist = "".join(
        f"    node {{\n"
        f"        name: {node}\n"
        f"        nodeid: {layout.index(node)}\n"
        f"        ring0_addr: {layout.address(node)}\n"
        f"    }}\n"
        for node in layout.nodes
    )
    return f"""\
# Written by ocfkit lab for {layout.workdir}
totem {{
    version: 2
    cluster_name: {CLUSTER_NAME}
    transport: knet
    crypto_cipher: none
    crypto_hash: none
    token: 1000
    interface {{
        linknumber: 0
        knet_ping_interval: 100
        knet_ping_timeout: 500
        knet_pong_count: 1
    }}
}}
logging {{
    to_stderr: no
    to_logfile: yes
    logfile: {logfile}
    to_syslog: no
    timestamp: on
}}
quorum {{
    provider: corosync_votequorum
}}
nodelist {{
{nodelist}}}
"""


#: Lets Pacemaker's daemons (user hacluster) talk to corosync.
COROSYNC_UIDGID = "uidgid {\n    uid: hacluster\n    gid: haclient\n}\n"


def _nvpair(prefix: str, name: str, value: str) -> str:
    return f'<nvpair id="{prefix}-{name}" name="{name}" value={quoteattr(value)}/>'


def fence_device(agent: str, nodes: Sequence[str]) -> str:
    """One stonith resource able to fence every node (it kills the node's daemons)."""
    return (
        f'<primitive id="{FENCE_DEVICE_ID}" class="stonith" type="{agent}">'
        f'<instance_attributes id="{FENCE_DEVICE_ID}-ia">'
        + _nvpair(FENCE_DEVICE_ID, "pcmk_host_list", " ".join(nodes))
        + _nvpair(FENCE_DEVICE_ID, "pcmk_host_check", "static-list")
        + "</instance_attributes>"
        f'<operations><op id="{FENCE_DEVICE_ID}-monitor" name="monitor" interval="60s"/>'
        "</operations></primitive>"
    )


def seeded_cib(nodes: Sequence[str], fence_agent: str | None) -> str:
    """The CIB Pacemaker finds on first start.

    With fencing, ``startup-fencing=false``: a node whose Pacemaker is slow
    to start on a busy two-core machine must not be shot as "never seen";
    the lab starts every node itself and knows they are clean.

    ``load-threshold`` is scaled by the number of nodes: every node reads
    the host's load average as its own, so with Pacemaker's default (80 % of
    the cores) the controller of a four-node lab throttles itself to half its
    parallel actions as soon as the host is moderately busy, which a cluster
    of four real machines would not.
    """
    options = {
        "stonith-enabled": "true" if fence_agent else "false",
        "dc-deadtime": "2s",
        "load-threshold": f"{80 * max(len(nodes), 1)}%",
    }
    if fence_agent:
        options["startup-fencing"] = "false"
    properties = "".join(_nvpair("opt", name, value) for name, value in options.items())
    resources = fence_device(fence_agent, nodes) if fence_agent else ""
    return (
        f'<cib crm_feature_set="{CIB_FEATURE_SET}" validate-with="{CIB_SCHEMA}"'
        ' epoch="1" num_updates="0" admin_epoch="0">\n'
        "  <configuration>\n"
        '    <crm_config><cluster_property_set id="cib-bootstrap-options">'
        f"{properties}</cluster_property_set></crm_config>\n"
        "    <nodes/>\n"
        f"    <resources>{resources}</resources>\n"
        "    <constraints/>\n"
        "  </configuration>\n"
        "  <status/>\n"
        "</cib>\n"
    )


def _export(export_id: int, path: Path, pseudo: str, access: str) -> str:
    """One EXPORT block of the VFS FSAL, NFSv4 over TCP, root not squashed."""
    return f"""\
EXPORT {{
    Export_Id = {export_id};
    Path = {path};
    Pseudo = {pseudo};
    Protocols = 4;
    Transports = TCP;
    Squash = No_Root_Squash;
    SecType = sys;
    {access}
    FSAL {{
        Name = VFS;
    }}
}}
"""


def ganesha_conf(
    *,
    recovery_root: Path,
    export_path: Path,
    grace_period: int,
    lease_lifetime: int,
    clustered: bool | None = None,
    clients: str | None = None,
    node_export: Path | None = None,
) -> str:
    """``clients``: who alone may use the export (ganesha's ``Clients`` syntax: a CIDR, ...).

    Without it every client that reaches the server may (the export's own
    ``Access_Type``).  ``clustered`` sets ``NFS_CORE_PARAM { Clustered }``: with
    ganesha's default (true) a node files its clients under v4recov/node<N>,
    where a takeover by address (``5:ADDR``) does not look.

    ``export_path`` is exported at ``/export`` (export id 1); ``node_export``, when
    given, at ``/node`` (export id 2): with one directory exported by every node at
    ``/export``, the node's own directory is what tells a client who served it.
    """
    clustered_line = "" if clustered is None else f"\n    Clustered = {str(clustered).lower()};"
    if clients is None:
        access = "Access_Type = RW;"
    else:
        access = (
            "# Nobody but the clients below.\n    Access_Type = None;\n"
            f"    CLIENT {{\n        Clients = {clients};\n        Access_Type = RW;\n    }}"
        )
    extra = "" if node_export is None else _export(2, node_export, "/node", access)
    return f"""\
# Written by ocfkit lab: NFSv4 only, so no rpcbind is needed.
NFS_CORE_PARAM {{
    Protocols = 4;{clustered_line}
    NFS_Port = 2049;
    # With NLM off and no client to reclaim, grace would lift after about a second.
    Enable_NLM = true;
    # rquota would have to register with rpcbind, and that failing is fatal.
    Enable_RQUOTA = false;
    Enable_UDP = false;
}}
NFSV4 {{
    # Otherwise grace requests are lifted at once.
    Graceless = false;
    Grace_Period = {grace_period};
    Lease_Lifetime = {lease_lifetime};
    RecoveryBackend = fs;
    RecoveryRoot = {recovery_root};
}}
{_export(1, export_path, "/export", access)}{extra}LOG {{
    Default_Log_Level = EVENT;
}}
"""


#: Inside each node, /run/dbus is the node's own directory.
BUS_SOCKET = "/run/dbus/system_bus_socket"


def bus_config() -> str:
    """The node's system bus: root only, ganesha's name root's, nothing activated on demand.

    Written from scratch rather than taken from the host's ``system.conf``:
    that one names the setuid activation helper and the system service
    directories, so any user reaching the bus could have root start
    PolicyKit, PackageKit or systemd's helpers inside a lab node.  Here
    there is no ``<servicehelper>`` and no ``<servicedir>``, connections
    from anyone but root are refused, and the messages root's clients send
    are limited to the bus itself and ganesha.
    """
    return f"""\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- Written by ocfkit lab: a node's private system bus, for ganesha.nfsd only. -->
<busconfig>
  <type>system</type>
  <user>messagebus</user>
  <auth>EXTERNAL</auth>
  <listen>unix:path={BUS_SOCKET}</listen>
  <policy context="default">
    <deny user="*"/>
    <allow user="root"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
  </policy>
  <policy user="root">
    <allow own="org.ganesha.nfsd"/>
    <allow send_destination="org.ganesha.nfsd"/>
  </policy>
</busconfig>
"""
