"""Sessions for streaming monitors: one holder of windows per session, idle ones released.

Input: each observation's ``session_id`` and timestamp. Output: the holder of
that session's windows (a generated class), made afresh for a session never
seen or released. With ``idle_seconds``, every session whose last observation
is more than that many seconds before the newest one is released before the
newest is taken, so memory is bounded by the sessions active within that
time. The sessions are kept in order of their last observation, so each
release costs O(1): only the oldest can be idle.

This matches ``nomotic_dsl.runtime.interpreter.measure.session_actions``: a
session's actions count from its first action after a gap longer than
``idle_seconds``, whenever the release happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from nomotic_dsl.runtime.interpreter.evaluate import check_idle_seconds
from nomotic_dsl.runtime.interpreter.state import StateError
from nomotic_dsl.runtime.monitor_state import StateReader

Holder = TypeVar("Holder")


class SessionTable(Generic[Holder]):
    """Holders by session id, oldest last observation first."""

    __slots__ = ("_factory", "_sessions", "idle_seconds")

    def __init__(self, factory: Callable[[], Holder], idle_seconds: float | None) -> None:
        check_idle_seconds(idle_seconds)
        self._factory = factory
        self.idle_seconds = None if idle_seconds is None else float(idle_seconds)
        # session id -> (timestamp of its last observation, holder)
        self._sessions: dict[str | None, tuple[float, Holder]] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def enter(self, session_id: str | None, timestamp: float) -> Holder:
        """The holder of ``session_id`` for an observation at ``timestamp`` (released ones anew)."""
        sessions = self._sessions
        idle = self.idle_seconds
        if idle is not None:
            while sessions:
                oldest = next(iter(sessions))
                if timestamp - sessions[oldest][0] <= idle:
                    break
                del sessions[oldest]
        entry = sessions.pop(session_id, None)
        holder = self._factory() if entry is None else entry[1]
        sessions[session_id] = (timestamp, holder)
        return holder

    def export(self, export_holder: Callable[[Holder], dict[str, Any]]) -> list[dict[str, Any]]:
        """Every session, oldest last observation first, with its holder's state."""
        return [
            {"session_id": session_id, "last_seen": last_seen, **export_holder(holder)}
            for session_id, (last_seen, holder) in self._sessions.items()
        ]

    def restore(
        self,
        reader: StateReader,
        key: str,
        last: float | None,
        restore_holder: Callable[[StateReader, str | None, float], Holder],
        holder_keys: tuple[str, ...],
    ) -> tuple[dict[str | None, tuple[float, Holder]], Holder | None]:
        """Check a state's ``sessions`` list; return the table and the newest session's holder.

        Nothing changes here: ``adopt`` installs the result once the whole
        state has been checked.
        """
        raw = reader.field(key)
        where = reader.where(key)
        if not isinstance(raw, list):
            raise StateError(f"{where}: expected a list of sessions")
        if raw and last is None:
            raise StateError(f"{where}: a monitor that saw no observation has no sessions")
        table: dict[str | None, tuple[float, Holder]] = {}
        previous = 0.0
        for index, item in enumerate(raw):
            entry = StateReader(
                item, f"{where}[{index}]", ("session_id", "last_seen", *holder_keys)
            )
            session_id = entry.field("session_id")
            if session_id is not None and (not isinstance(session_id, str) or not session_id):
                entry.fail("session_id", f"{session_id!r} is not a session id (a string or null)")
            if session_id in table:
                entry.fail("session_id", f"session {session_id!r} is listed twice")
            last_seen = entry.timestamp("last_seen")
            if last_seen < previous or (last is not None and last_seen > last):
                entry.fail(
                    "last_seen",
                    f"{last_seen!r} is out of order: sessions come oldest first, "
                    "none after the last observation",
                )
            if (
                self.idle_seconds is not None
                and last is not None
                and last - last_seen > self.idle_seconds
            ):
                entry.fail(
                    "last_seen", f"{last_seen!r} is idle longer than the monitor keeps sessions"
                )
            previous = last_seen
            table[session_id] = (last_seen, restore_holder(entry, session_id, last_seen))
        if not raw and last is not None:
            raise StateError(f"{where}: the session of the last observation is missing")
        if raw and previous != last:
            raise StateError(
                f"{where}: the newest session's last observation is at {previous!r}, "
                f"not at the last timestamp {last!r}"
            )
        newest = table[next(reversed(table))][1] if table else None
        return table, newest

    def adopt(self, table: dict[str | None, tuple[float, Holder]]) -> None:
        """Install sessions checked by ``restore``."""
        self._sessions = table
