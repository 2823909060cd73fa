"""Settings shared by the whole suite."""

from __future__ import annotations

from hypothesis import settings

# The property tests check behaviour, not speed: a loaded two-core CI machine
# must not turn a slow example into a failure.  Speed has its own benchmark.
settings.register_profile("ocfkit", deadline=None)
settings.load_profile("ocfkit")
