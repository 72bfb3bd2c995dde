"""Clocks: every component reads time from a clock it is given, never from the wall directly.

`SystemClock` is wall time (seconds since the epoch, like ROS time without sim time).
`SimClock` is simulated time that only moves when someone calls `set_time` / `advance`
(the simulator in lock-step runs, or a `/clock` subscription with `use_sim_time`).
Executors register a wake-up listener on the clocks of their nodes, so a timer on a
`SimClock` fires as soon as its time passes the timer's deadline.
"""
from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable

from robomatrix.msgs import Time


class Clock(abc.ABC):
    """Base class: `now()` in seconds (float) and `now_msg()` as builtin_interfaces/Time."""

    #: True when time advances on its own with the wall (waits can be computed in wall seconds).
    is_wall: bool = True

    def __init__(self):
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()

    @abc.abstractmethod
    def now(self) -> float:
        """The current time of this clock, seconds."""

    def now_msg(self) -> Time:
        return Time.from_sec(self.now())

    def add_listener(self, callback: Callable[[], None]) -> None:
        """`callback()` runs (on the caller's thread) whenever the time is set; used to wake executors."""
        with self._listeners_lock:
            if callback not in self._listeners:
                self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        with self._listeners_lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def _notify(self) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback()


class SystemClock(Clock):
    """Wall-clock time, seconds since the Unix epoch."""

    is_wall = True

    def now(self) -> float:
        return time.time()


class SimClock(Clock):
    """Simulated time: starts at `start_s` and moves only by `set_time` / `advance`."""

    is_wall = False

    def __init__(self, start_s: float = 0.0):
        super().__init__()
        self._lock = threading.Lock()
        self._ns = _to_ns(start_s)  # integer nanoseconds: many small steps add up exactly

    def now(self) -> float:
        with self._lock:
            return self._ns * 1e-9

    def set_time(self, t: float) -> None:
        """Jump to `t` seconds (may go backwards after a reset: timers then restart their period)."""
        with self._lock:
            self._ns = _to_ns(t)
        self._notify()

    def advance(self, dt: float) -> float:
        """Move time forward by `dt` seconds; returns the new time."""
        if dt < 0:
            raise ValueError(f"SimClock.advance needs dt >= 0, got {dt!r}")
        with self._lock:
            self._ns += _to_ns(dt)
            t_ns = self._ns
        self._notify()
        return t_ns * 1e-9


def _to_ns(t: float) -> int:
    return int(round(float(t) * 1e9))
