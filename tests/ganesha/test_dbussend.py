"""Reading what dbus-send prints: replies, error replies, a bus that is not there."""

from __future__ import annotations

import pytest

from ganesha_agents.backends.dbus import NO_BUS, NOT_ON_BUS, OTHER, REFUSED, TIMEOUT, classify
from ganesha_agents.backends.dbussend import failure, installed, parse_reply

ADDRESS = "unix:path=/run/dbus/system_bus_socket"
GRACE_REPLY = (
    "method return time=1701336000.123456 sender=:1.2 -> destination=:1.5 serial=12 "
    'reply_serial=2\n   boolean true\n   string "Started grace period"\n'
)


def test_a_grace_reply() -> None:
    assert parse_reply(GRACE_REPLY) == [True, "Started grace period"]


def test_a_get_grace_reply() -> None:
    text = 'method return ...\n   boolean false\n   boolean true\n   string "get grace success"\n'
    assert parse_reply(text) == [False, True, "get grace success"]


def test_a_message_with_quotes_and_colons_is_kept_whole() -> None:
    text = 'method return ...\n   string "a \\"quoted\\" : message"\n'
    assert parse_reply(text) == ['a \\"quoted\\" : message']


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        (
            "Error org.freedesktop.DBus.Error.ServiceUnknown: The name org.ganesha.nfsd was "
            "not provided by any .service files\n",
            NOT_ON_BUS,
        ),
        ("Error org.freedesktop.DBus.Error.NoReply: Did not receive a reply.\n", TIMEOUT),
        ("Error org.ganesha.nfsd.admin: grace\n", REFUSED),
        (
            'Failed to open connection to "system" message bus: Failed to connect to socket '
            "/nowhere: No such file or directory\n",
            NO_BUS,
        ),
        ("Segmentation fault\n", OTHER),
    ],
)
def test_failures_are_classified_as_for_pydbus(stderr: str, kind: str) -> None:
    seen = classify(failure(stderr, ADDRESS, 1), ADDRESS)
    assert seen is not None and seen.kind == kind, seen


def test_installed_looks_on_the_path_given(tmp_path: object) -> None:
    assert installed("/nonexistent:/also-not") is False
