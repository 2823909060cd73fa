"""The whole example agent against arbitrary environments and actions.

Whatever arrives, an agent must answer with a valid OCF code, keep stdout for
meta-data and usage only (never a traceback there), and give Pacemaker an
exit reason for every answer other than success and "not running".
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocfkit.actions import STANDARD_ACTIONS
from ocfkit.codes import VALID_CODES, ExitCode
from ocfkit.examples.dummy import Dummy
from ocfkit.testing import AgentRunner, FakeClock, MemoryStateStore

REPO = Path(__file__).resolve().parents[2]
META = "OCF_RESKEY_CRM_meta_"

# What os.environ can hold: no NUL, no "=" in names, no lone surrogates
# other than those standing for undecodable bytes (tested in a real process below).
text = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\0"))
names = text.filter(lambda n: "=" not in n)
numberish = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["", " ", "0", "-1", "1e3", "0x10", "20s", "+5", " 7 "]),
    text,
)
META_NAMES = ["interval", "timeout", "clone", "clone_max", "clone_node_max", "notify",
              "globally_unique", "on_node", "promoted_max", "master_max", "notify_type",
              "notify_operation", "notify_start_uname", "notify_start_resource",
              "notify_stop_uname"]  # fmt: skip
OTHER_NAMES = ["OCF_RESOURCE_INSTANCE", "OCF_RA_VERSION_MAJOR", "OCF_RA_VERSION_MINOR",
               "OCF_CHECK_LEVEL", "OCF_ROOT", "HA_debug", "OCF_RESOURCE_TYPE"]  # fmt: skip
metas = st.dictionaries(st.sampled_from(META_NAMES), numberish, max_size=8)
# Any parameter name except "state", which names a file the agent would write (as root).
reskeys = st.dictionaries(
    st.one_of(names, st.sampled_from(["fake", "op_sleep", "config-file", "a b", "x.y"])).filter(
        lambda n: n != "state" and not n.startswith("CRM_meta_")
    ),
    numberish,
    max_size=6,
)
others = st.dictionaries(st.sampled_from(OTHER_NAMES), numberish)
actions = st.one_of(
    st.sampled_from([*STANDARD_ACTIONS, "usage", "help", "status", "reload_agent"]), text
)


def agent() -> Dummy:
    return Dummy(clock=FakeClock(), state_store=MemoryStateStore())


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(actions, reskeys, metas, others)
def test_every_run_ends_with_a_valid_answer(
    action: str, params: dict[str, str], meta: dict[str, str], other: dict[str, str]
) -> None:
    environ = {
        **other,
        **{f"OCF_RESKEY_{k}": v for k, v in params.items()},
        **{META + k: v for k, v in meta.items()},
    }
    result = AgentRunner(agent).invoke(action, environ)
    assert result.exit_code in VALID_CODES
    assert "Traceback" not in result.stdout
    if action == "meta-data":
        assert result.exit_code == 0 and result.stdout.startswith("<?xml")
    elif action in ("usage", "help"):
        assert result.exit_code == 0 and result.stdout.startswith("usage:")
    else:
        assert result.stdout == ""
    if result.exit_code not in (ExitCode.SUCCESS, ExitCode.NOT_RUNNING):
        assert result.exit_reason, result
        assert "internal error" not in result.exit_reason


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["start", "stop", "monitor", "notify", "validate-all"]), max_size=12),
    st.sampled_from(["", "0", "10", "garbage"]),
    st.sampled_from(["", "3", "-1", "x"]),
)
def test_a_sequence_of_actions_keeps_the_life_cycle(
    steps: list[str], interval: str, op_sleep: str
) -> None:
    """Whatever the order, monitor says what the last start or stop did."""
    store = MemoryStateStore()
    runner = AgentRunner(lambda: Dummy(clock=FakeClock(), state_store=store))
    environ = {"OCF_RESOURCE_INSTANCE": "fz", META + "interval": interval,
               "OCF_RESKEY_op_sleep": op_sleep}  # fmt: skip
    running = False
    valid_sleep = op_sleep in ("", "3")
    for step in steps:
        code = runner.invoke(step, environ).exit_code
        if step == "monitor":
            probe = interval in ("", "0", "garbage")
            if valid_sleep or probe:
                assert code == (ExitCode.SUCCESS if running else ExitCode.NOT_RUNNING)
            else:
                assert code == ExitCode.ERR_CONFIGURED
        elif step == "start" and valid_sleep:
            assert code == 0
            running = True
        elif step == "stop":
            assert code == 0  # a stop with a broken configuration still succeeds
            running = running and not valid_sleep


# Any bytes, made undecodable by a stray 0xff.
undecodable = st.binary(max_size=12).filter(lambda b: b"\0" not in b).map(lambda b: b + b"\xff")


@settings(max_examples=12, deadline=None)
@given(
    st.sampled_from(["start", "monitor", "notify", "validate-all", "bogus"]),
    undecodable,
    undecodable,
)
def test_a_real_process_survives_bytes_that_are_not_utf8(
    action: str, value: bytes, instance: bytes
) -> None:
    """As Pacemaker runs it, with syslog logging on, and values no codec can read."""
    with tempfile.TemporaryDirectory() as rsctmp:
        done = _run_dummy(action, value, instance, rsctmp.encode())
    assert done.returncode in VALID_CODES
    assert b"Traceback" not in done.stdout + done.stderr
    if done.returncode not in (0, 7):
        assert b"ocf-exit-reason:" in done.stderr


def _run_dummy(
    action: str, value: bytes, instance: bytes, rsctmp: bytes
) -> subprocess.CompletedProcess[bytes]:
    environ = {
        b"PATH": os.environb.get(b"PATH", b"/usr/bin:/bin"),
        b"PYTHONPATH": str(REPO / "src").encode(),
        b"HA_LOGFACILITY": b"daemon",
        b"HA_RSCTMP": rsctmp,
        b"OCF_RESOURCE_INSTANCE": instance,
        b"OCF_RESKEY_fake": value,
        b"OCF_RESKEY_op_sleep": value,
        b"OCF_RESKEY_CRM_meta_notify_start_uname": value,
        b"OCF_RESKEY_CRM_meta_notify_type": b"post",
        b"OCF_RESKEY_CRM_meta_notify_operation": b"start",
    }
    return subprocess.run(
        [sys.executable, "-m", "ocfkit.examples.dummy", action],
        env=environ,
        capture_output=True,
        check=False,
        timeout=30,
    )
