"""A base for the small value objects of the modules an action always loads.

Those modules avoid attrs (and typing) at run time to keep every monitor
cheap; this gives their records a readable ``repr`` and value equality from
``__slots__`` alone.
"""

from __future__ import annotations


class Record:
    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((type(self), self._fields()))


class Subscriptable:
    """Stands in for ``typing.Generic`` at run time: ``Agent[X]`` is just ``Agent``.

    The type checker sees the real ``Generic`` (see ``ocfkit.agent``); at run
    time this spares every action the import of ``typing``.
    """

    __slots__ = ()

    def __class_getitem__(cls, item: object) -> type:
        return cls
