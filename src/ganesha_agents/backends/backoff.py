"""When to try a grace call again: exponential backoff with jitter, inside a time budget.

The pauses start short because the usual passing failure is short: a
restarted ganesha.nfsd answers on the bus some 15 ms after it starts.  They
double so that a daemon that stays away costs few attempts, and they are
capped so that a budget of a few seconds still holds several attempts.
Jitter spreads the attempts of nodes that were notified together, so that
they do not retry in step.  A pause never runs past the time that is left:
the caller's budget is a promise, not a hint.

Nothing here sleeps or reads a clock; the caller does both, which keeps the
schedule a pure function that tests can explore freely.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

FIRST_PAUSE = 0.05
"""Seconds before the second attempt: a restarting ganesha is usually back on the bus by then."""

GROWTH = 2.0
"""Each pause is this many times the one before (before jitter)."""

MAX_PAUSE = 1.0
"""The longest pause: within a few seconds' budget, one long wait would waste most of it."""

JITTER = 0.5
"""Each pause is drawn between ``1 - JITTER`` and 1 times its nominal length."""

_MAX_EXPONENT = 64
"""Doubling beyond this cannot matter (the cap is reached long before) and would overflow."""


class Backoff:
    """A schedule of pauses: ``first * growth ** n``, capped at ``most``, shortened by jitter."""

    def __init__(
        self,
        *,
        first: float = FIRST_PAUSE,
        growth: float = GROWTH,
        most: float = MAX_PAUSE,
        jitter: float = JITTER,
        uniform: Callable[[], float] | None = None,
    ) -> None:
        """``uniform`` returns a number in [0, 1] for the jitter; a private generator by default."""
        if not 0 < first <= most:
            raise ValueError(
                f"the first pause ({first!r}) must be > 0 and <= the longest ({most!r})"
            )
        if not growth >= 1:
            raise ValueError(f"pauses must not shrink (growth {growth!r} < 1)")
        if not 0 <= jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, not {jitter!r}")
        self.first = first
        self.growth = growth
        self.most = most
        self.jitter = jitter
        self._uniform = uniform

    def nominal(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (from 1), before jitter."""
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        return min(self.most, self.first * self.growth**exponent)

    def pause(self, attempt: int, left: float) -> float:
        """The wait after failed attempt ``attempt``: never negative, never more than ``left``."""
        draw = self._draw()
        draw = min(draw, 1.0) if draw >= 0.0 else 0.0  # a stray source (NaN too) cannot misbehave
        wanted = self.nominal(attempt) * (1.0 - self.jitter * draw)
        return max(0.0, min(wanted, left))

    def _draw(self) -> float:
        if self._uniform is None:
            # Imported here: the daemon backend is on ganesha_mon's monitor path, which
            # never retries anything and should not pay for random's import.
            import random

            self._uniform = random.Random().random  # noqa: S311 (jitter, not a secret)
        return self._uniform()
