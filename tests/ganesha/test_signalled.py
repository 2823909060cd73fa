"""ganesha_mon's state record: written and read back, and any text read without an error."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ganesha_agents.signalled import DOWN, DRAINING, PHASES, STARTED, UP, Signalled

times = st.floats(min_value=0, max_value=1e9, allow_nan=False).map(lambda t: round(t, 3))
identities = st.one_of(
    st.just(""), st.tuples(st.integers(1, 2**22), st.integers(0, 2**40)).map("{0[0]}:{0[1]}".format)
)


@given(st.sampled_from(PHASES), times, times, identities)
def test_a_record_reads_back_as_written(
    phase: str, since: float, asserted: float, attrd: str
) -> None:
    record = Signalled(phase, since=since, asserted=asserted, attrd=attrd)
    assert Signalled.parse(record.dump()) == record


@given(st.text())
def test_any_text_reads_as_some_record(text: str) -> None:
    record = Signalled.parse(text)
    assert record.phase in PHASES
    assert record.since == record.since and record.asserted == record.asserted  # no NaN


def test_the_earlier_agents_files_read_as_never_asserted_phases() -> None:
    assert Signalled.parse("up\n") == Signalled(UP)
    assert Signalled.parse("down") == Signalled(DOWN)
    assert Signalled.parse("") == Signalled(STARTED)
    assert Signalled.parse("phase=draining since=nan asserted=inf attrd=1;2") == Signalled(DRAINING)
