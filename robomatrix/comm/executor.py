"""Executors: run the queued work of their nodes, one callback at a time, on the spinning thread.

`spin_once(timeout_sec)` waits (up to the timeout) until something is ready, then runs
everything that was ready at that moment: due timers, then messages, requests and
future callbacks in arrival order. Work that arrives while those run waits for the
next call. Timers on a `SimClock` fire when its time passes their deadline: clocks
wake the executor when their time is set.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

_MAX_WAIT_S = 0.5  # cap on a single wait so Ctrl-C and shutdown are noticed promptly


class Executor:
    """Single-threaded executor over several nodes (rclpy's SingleThreadedExecutor)."""

    def __init__(self, nodes=None):
        self._cond = threading.Condition()
        self._nodes: list = []
        self._spin_lock = threading.Lock()
        self._spinning_thread: int | None = None
        self._shutdown = False
        for node in nodes or []:
            self.add_node(node)

    # ------------------------------------------------------------------ nodes
    def add_node(self, node) -> bool:
        if node._destroyed:
            raise RuntimeError(f"node '{node.get_name()}' was destroyed")
        previous = node._executor
        if previous is self:
            return False
        if previous is not None:
            previous.remove_node(node)
        with self._cond:
            self._nodes.append(node)
            node._executor = self
        for clock in node._clocks():
            clock.add_listener(self.wake)
        node.context._add_executor(self)
        self.wake()
        return True

    def remove_node(self, node) -> None:
        with self._cond:
            if node in self._nodes:
                self._nodes.remove(node)
            if node._executor is self:
                node._executor = None
        for clock in node._clocks():
            if not any(clock in n._clocks() for n in self.get_nodes()):
                clock.remove_listener(self.wake)
        self.wake()

    def get_nodes(self) -> list:
        with self._cond:
            return list(self._nodes)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ spinning
    def _collect(self) -> list[Callable[[], None]]:
        work = []
        for node in self._nodes:
            work.extend(node._take_work())
        return work

    def _wall_wait(self) -> float | None:
        waits = [w for w in (n._next_wall_wait() for n in self._nodes) if w is not None]
        return max(0.0, min(waits)) if waits else None

    def spin_once(self, timeout_sec: float | None = None) -> bool:
        """Wait up to `timeout_sec` (None: until work or shutdown) and run what is ready.

        Returns True when some callback ran. Must not be called from inside a callback.
        """
        if self._spinning_thread == threading.get_ident():
            raise RuntimeError("spin_once was called from inside a callback of the same executor; "
                               "use call_async / add_done_callback instead of waiting in a callback")
        deadline = None if timeout_sec is None else time.monotonic() + max(0.0, timeout_sec)
        if not self._spin_lock.acquire(timeout=-1 if timeout_sec is None else max(0.0, timeout_sec)):
            return False  # another thread is spinning these nodes
        try:
            self._spinning_thread = threading.get_ident()
            with self._cond:
                while True:
                    if self._shutdown:
                        return False
                    work = self._collect()
                    if work:
                        break
                    wait = _MAX_WAIT_S if deadline is None else deadline - time.monotonic()
                    if wait <= 0:
                        return False
                    timer_wait = self._wall_wait()
                    if timer_wait is not None:
                        wait = min(wait, timer_wait)
                    self._cond.wait(min(wait, _MAX_WAIT_S))
            for fn in work:
                fn()
            return True
        finally:
            self._spinning_thread = None
            self._spin_lock.release()

    def spin(self) -> None:
        """Spin until `shutdown()`, the nodes' context shuts down, or Ctrl-C (which ends it cleanly)."""
        try:
            while not self._shutdown and self._contexts_ok():
                self.spin_once(_MAX_WAIT_S)
        except KeyboardInterrupt:
            pass

    def spin_until(self, predicate: Callable[[], bool], timeout_sec: float | None = None) -> bool:
        """Spin until `predicate()` is true (checked after each batch) or the timeout; returns it."""
        deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
        while not predicate():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0 or self._shutdown:
                return bool(predicate())
            self.spin_once(_MAX_WAIT_S if remaining is None else min(remaining, _MAX_WAIT_S))
        return True

    def spin_until_future_complete(self, future, timeout_sec: float | None = None) -> bool:
        return self.spin_until(future.done, timeout_sec)

    def _contexts_ok(self) -> bool:
        nodes = self.get_nodes()
        return not nodes or any(n.context.ok() for n in nodes)

    def shutdown(self, timeout_sec: float | None = None) -> bool:
        """Stop spinning (a running `spin` returns) and release the nodes."""
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()
        for node in self.get_nodes():
            self.remove_node(node)
        return True


SingleThreadedExecutor = Executor


def _executor_of(node) -> Executor:
    if node._executor is None:
        Executor([node])
    return node._executor


def spin(node, executor: Executor | None = None) -> None:
    """Spin `node` until shutdown or Ctrl-C (which ends it cleanly)."""
    (executor or _executor_of(node)).spin()


def spin_once(node, timeout_sec: float | None = None, executor: Executor | None = None) -> bool:
    return (executor or _executor_of(node)).spin_once(timeout_sec)


def spin_until(node, predicate: Callable[[], bool], timeout_sec: float | None = None,
               executor: Executor | None = None) -> bool:
    return (executor or _executor_of(node)).spin_until(predicate, timeout_sec)


def spin_until_future_complete(node, future, timeout_sec: float | None = None,
                               executor: Executor | None = None) -> bool:
    return (executor or _executor_of(node)).spin_until(future.done, timeout_sec)
