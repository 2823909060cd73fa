"""AttrdAttributeStore against attrd_updater's real answers, replayed by a fake runner.

The outputs below were captured from Pacemaker 2.1.5's attrd_updater on this
kind of machine, in a throwaway one-node cluster (corosync + pacemakerd in a
private network, mount and UTS namespace), by running each command and
recording exit code, stdout and stderr byte for byte.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ganesha_agents.backends.attrd import (
    AttrdAttributeStore,
    AttributeStoreError,
    parse_reply,
)
from ganesha_agents.backends.protocols import AttributeStore
from ocfkit.errors import DeadlineExceeded, NotInstalledError, OCFError
from ocfkit.log import AgentLog, LogSettings
from ocfkit.runner import CommandResult
from ocfkit.testing import FakeCommandRunner, timeout_error

# attrd_updater -Q -n ganesha-active --output-as=xml   (exit 0)
QUERY_SET = """\
<pacemaker-result api-version="2.25" request="attrd_updater -Q -n ganesha-active --output-as=xml">
  <attribute name="ganesha-active" value="1" host="probe1"/>
  <status code="0" message="OK"/>
</pacemaker-result>
"""

# the same after attrd_updater -D -n ganesha-active   (exit 0)
QUERY_DELETED = """\
<pacemaker-result api-version="2.25" request="attrd_updater -Q -n ganesha-active --output-as=xml">
  <attribute name="ganesha-active" value="" host="probe1"/>
  <status code="0" message="OK"/>
</pacemaker-result>
"""

# attrd_updater -Q -n never-set --output-as=xml   (exit 78, nothing on stderr)
QUERY_NEVER_SET = """\
<pacemaker-result api-version="2.25" request="attrd_updater -Q -n never-set --output-as=xml">
  <status code="78" message="Invalid configuration">
    <errors>
      <error>attrd_updater: Could not query value of never-set: attribute does not exist</error>
    </errors>
  </status>
</pacemaker-result>
"""

# attrd_updater -Q -n ganesha-active -N nosuchnode --output-as=xml   (exit 0: a name
# known on some node reads as empty on every other, exactly like a deleted one).
# Lines too long for the source are split with a backslash-newline, which the
# string does not contain.
QUERY_OTHER_NODE = """\
<pacemaker-result api-version="2.25" \
request="attrd_updater -Q -n ganesha-active -N nosuchnode --output-as=xml">
  <attribute name="ganesha-active" value="" host="nosuchnode"/>
  <status code="0" message="OK"/>
</pacemaker-result>
"""

# attrd_updater -n odd -U 'a "quoted" value="x" <&> $(id) ; \back', then
# attrd_updater -Q -n odd --output-as=xml   (exit 0).  The text format printed
# name="odd" host="probe1" value="a "quoted" value="x" <&> $(id) ; \back"
# with nothing escaped, which is why queries use XML.
QUERY_ODD_VALUE = """\
<pacemaker-result api-version="2.25" request="attrd_updater -Q -n odd --output-as=xml">
  <attribute name="odd" \
value="a &quot;quoted&quot; value=&quot;x&quot; &lt;&amp;&gt; $(id) ; \\back" host="probe1"/>
  <status code="0" message="OK"/>
</pacemaker-result>
"""
ODD_VALUE = 'a "quoted" value="x" <&> $(id) ; \\back'

# attrd_updater -Q -n 'sp ace"name;$(id)' --output-as=xml   (exit 0)
HOSTILE_NAME = 'sp ace"name;$(id)'
QUERY_HOSTILE_NAME = """\
<pacemaker-result api-version="2.25" \
request="attrd_updater -Q -n 'sp ace&quot;name;$(id)' --output-as=xml">
  <attribute name="sp ace&quot;name;$(id)" value="v" host="probe1"/>
  <status code="0" message="OK"/>
</pacemaker-result>
"""

# With no attrd to talk to (Pacemaker not running), exit 102 each time:
# attrd_updater -Q -n ganesha-active --output-as=xml   (stdout, stderr empty)
QUERY_NOT_CONNECTED = """\
<pacemaker-result api-version="2.25" request="attrd_updater -Q -n ganesha-active --output-as=xml">
  <status code="102" message="Not connected">
    <errors>
      <error>attrd_updater: Could not connect to attrd: Connection refused</error>
    </errors>
  </status>
</pacemaker-result>
"""
# attrd_updater -n ganesha-active -U 1   (stderr)
SET_NOT_CONNECTED = "attrd_updater: Could not update ganesha-active=1: Connection refused (111)\n"
# attrd_updater -D -n ganesha-active   (stderr)
DELETE_NOT_CONNECTED = (
    "attrd_updater: Could not update ganesha-active=(null): Connection refused (111)\n"
)
# attrd_updater -n u8 -U 'é ü'   (exit 64: Pacemaker never sets a locale for its option parser)
SET_NON_ASCII = "attrd_updater: Invalid byte sequence in conversion input\n"


def answer(returncode: int, stdout: str = "", stderr: str = "") -> FakeCommandRunner:
    return FakeCommandRunner(lambda argv: CommandResult(argv, returncode, stdout, stderr))


def captured_log() -> tuple[AgentLog, io.StringIO]:
    buffer = io.StringIO()
    return AgentLog(LogSettings("test"), stderr=buffer), buffer


# The command lines.


def test_set_runs_exactly_name_and_value() -> None:
    runner = FakeCommandRunner()
    store: AttributeStore = AttrdAttributeStore(runner)  # the type checker holds it to the Protocol
    store.set("ganesha-active", "1")
    assert runner.calls == [("attrd_updater", "-n", "ganesha-active", "-U", "1")]


def test_set_for_another_node_adds_node() -> None:
    runner = FakeCommandRunner()
    AttrdAttributeStore(runner).set("grace-active", "1", node="node2")
    assert runner.calls == [("attrd_updater", "-n", "grace-active", "-U", "1", "-N", "node2")]


def test_delete_runs_exactly() -> None:
    runner = FakeCommandRunner()
    store = AttrdAttributeStore(runner)
    store.delete("grace-active")
    store.delete("grace-active", node="node3")
    assert runner.calls == [
        ("attrd_updater", "-D", "-n", "grace-active"),
        ("attrd_updater", "-D", "-n", "grace-active", "-N", "node3"),
    ]


def test_query_asks_for_xml() -> None:
    runner = answer(0, QUERY_SET)
    AttrdAttributeStore(runner).query("ganesha-active")
    AttrdAttributeStore(runner).query("ganesha-active", node="probe1")
    assert runner.calls == [
        ("attrd_updater", "-Q", "-n", "ganesha-active", "--output-as=xml"),
        ("attrd_updater", "-Q", "-n", "ganesha-active", "-N", "probe1", "--output-as=xml"),
    ]


def test_a_call_timeout_reaches_the_runner() -> None:
    runner = FakeCommandRunner()
    AttrdAttributeStore(runner, timeout=2.5).set("x", "1")
    AttrdAttributeStore(runner).set("x", "1")
    assert runner.timeouts == [2.5, None]


# Reading the answers.


def test_query_reads_the_value() -> None:
    assert AttrdAttributeStore(answer(0, QUERY_SET)).query("ganesha-active") == "1"


def test_query_after_delete_is_empty_not_none() -> None:
    assert AttrdAttributeStore(answer(0, QUERY_DELETED)).query("ganesha-active") == ""


def test_query_of_a_name_attrd_never_heard_of_is_none() -> None:
    assert AttrdAttributeStore(answer(78, QUERY_NEVER_SET)).query("never-set") is None


def test_query_on_another_node_matches_the_host() -> None:
    store = AttrdAttributeStore(answer(0, QUERY_OTHER_NODE))
    assert store.query("ganesha-active", node="nosuchnode") == ""


def test_query_answer_for_a_different_host_is_an_error() -> None:
    store = AttrdAttributeStore(answer(0, QUERY_SET))
    with pytest.raises(AttributeStoreError, match="holds no value"):
        store.query("ganesha-active", node="node9")


def test_query_keeps_quotes_and_markup_in_values() -> None:
    assert AttrdAttributeStore(answer(0, QUERY_ODD_VALUE)).query("odd") == ODD_VALUE


def test_query_with_a_hostile_name_reads_it_back() -> None:
    runner = answer(0, QUERY_HOSTILE_NAME)
    assert AttrdAttributeStore(runner).query(HOSTILE_NAME) == "v"
    assert runner.calls[0][3] == HOSTILE_NAME


# Hostile input stays in its argv slot.

text_without_nul = st.text(st.characters(exclude_characters="\0"), min_size=1)


@given(name=text_without_nul, value=st.text(st.characters(exclude_characters="\0")))
def test_any_name_and_value_are_single_argv_elements(name: str, value: str) -> None:
    runner = FakeCommandRunner()
    AttrdAttributeStore(runner).set(name, value)
    assert runner.calls == [("attrd_updater", "-n", name, "-U", value)]


@given(name=text_without_nul, node=text_without_nul)
def test_any_node_name_is_a_single_argv_element(name: str, node: str) -> None:
    runner = FakeCommandRunner()
    store = AttrdAttributeStore(runner)
    store.delete(name, node=node)
    store.set(name, "1", node=node)
    assert runner.calls == [
        ("attrd_updater", "-D", "-n", name, "-N", node),
        ("attrd_updater", "-n", name, "-U", "1", "-N", node),
    ]


# Every character XML 1.0 can carry.
xml_text = st.text(
    st.one_of(
        st.sampled_from("\t\n\r"),
        st.characters(
            min_codepoint=0x20, exclude_categories=["Cs"], exclude_characters="\ufffe\uffff"
        ),
    )
)


@given(name=xml_text.filter(bool), value=xml_text)
def test_any_escaped_value_is_read_back_exactly(name: str, value: str) -> None:
    # A parser turns raw tabs and line ends in attribute values into spaces;
    # libxml2 writes them as character references, and so does this.
    def escape(text: str) -> str:
        return quoteattr(text, {"\n": "&#10;", "\t": "&#9;", "\r": "&#13;"})

    reply = (
        '<pacemaker-result api-version="2.25">\n'
        f"  <attribute name={escape(name)} value={escape(value)} host={escape('probe1')}/>\n"
        '  <status code="0" message="OK"/>\n'
        "</pacemaker-result>\n"
    )
    assert AttrdAttributeStore(answer(0, reply)).query(name) == value


def test_empty_names_are_refused_before_running_anything() -> None:
    runner = FakeCommandRunner()
    store = AttrdAttributeStore(runner)
    with pytest.raises(AttributeStoreError, match="attribute name is empty"):
        store.set("", "1")
    with pytest.raises(AttributeStoreError, match="node name is empty"):
        store.query("grace-active", node="")
    assert runner.calls == []


# Failures are raised with the tool's words, and logged.


def test_failed_set_carries_stderr_and_is_logged() -> None:
    log, lines = captured_log()
    store = AttrdAttributeStore(answer(102, stderr=SET_NOT_CONNECTED), log=log)
    with pytest.raises(AttributeStoreError) as raised:
        store.set("ganesha-active", "1")
    assert "Could not update ganesha-active=1: Connection refused (111)" in raised.value.reason
    assert "exit 102" in raised.value.reason
    assert raised.value.code == 1
    assert "ERROR: attrd_updater could not set 'ganesha-active'='1'" in lines.getvalue()


def test_failed_delete_carries_stderr() -> None:
    store = AttrdAttributeStore(answer(102, stderr=DELETE_NOT_CONNECTED))
    with pytest.raises(AttributeStoreError, match=r"Connection refused \(111\)"):
        store.delete("ganesha-active")


def test_failed_query_carries_the_xml_error_text() -> None:
    log, lines = captured_log()
    store = AttrdAttributeStore(answer(102, QUERY_NOT_CONNECTED), log=log)
    with pytest.raises(AttributeStoreError) as raised:
        store.query("ganesha-active")
    assert "Could not connect to attrd: Connection refused" in raised.value.reason
    assert "Could not connect to attrd" in lines.getvalue()


def test_non_ascii_refused_by_the_tool_is_an_error() -> None:
    store = AttrdAttributeStore(answer(64, stderr=SET_NON_ASCII))
    with pytest.raises(AttributeStoreError, match="Invalid byte sequence"):
        store.set("u8", "é ü")


def test_exit_78_without_the_never_set_message_is_not_none() -> None:
    other = QUERY_NEVER_SET.replace("attribute does not exist", "reply did not contain valid XML")
    with pytest.raises(AttributeStoreError, match="valid XML"):
        AttrdAttributeStore(answer(78, other)).query("never-set")


def test_success_without_an_attribute_is_an_error() -> None:
    empty = '<pacemaker-result><status code="0" message="OK"/></pacemaker-result>'
    with pytest.raises(AttributeStoreError, match="holds no value"):
        AttrdAttributeStore(answer(0, empty)).query("ganesha-active")


def test_unparsable_output_is_shown_in_the_error() -> None:
    with pytest.raises(AttributeStoreError, match=r"name=.*value"):
        AttrdAttributeStore(answer(0, 'name="x" host="h" value="1"\n')).query("x")


def test_a_doctype_is_refused() -> None:
    hostile = '<!DOCTYPE r [<!ENTITY a "1">]><r><attribute name="x" value="&a;" host="h"/></r>'
    assert parse_reply(hostile).attributes == []


def test_missing_program_is_not_installed_and_logged() -> None:
    log, lines = captured_log()
    store = AttrdAttributeStore(FakeCommandRunner(missing=["attrd_updater"]), log=log)
    with pytest.raises(NotInstalledError) as raised:
        store.query("ganesha-active")
    assert raised.value.code == 5
    assert "could not query 'ganesha-active'" in lines.getvalue()


def test_timeout_propagates_as_deadline_exceeded() -> None:
    log, lines = captured_log()
    store = AttrdAttributeStore(FakeCommandRunner(lambda argv: timeout_error(argv[0])), log=log)
    with pytest.raises(DeadlineExceeded):
        store.set("ganesha-active", "1")
    assert "did not finish" in lines.getvalue()


def test_every_failure_is_an_ocf_error() -> None:
    for returncode, stdout, stderr in [
        (1, "", ""),
        (102, QUERY_NOT_CONNECTED, ""),
        (0, "", ""),
        (78, "", "attrd_updater: Unknown option --bogus\n"),
    ]:
        with pytest.raises(OCFError):
            AttrdAttributeStore(answer(returncode, stdout, stderr)).query("x")
