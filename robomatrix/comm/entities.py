"""What a node creates: publishers, subscriptions, timers, services, clients, futures.

Incoming work (a message, a request, a due timer, a future's done-callback) is queued
on the node and run by the executor spinning that node; see `robomatrix.comm.node`.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from robomatrix.comm.clock import Clock
from robomatrix.comm.transport import QoSProfile, TransportClient, TransportEndpoint, TransportPublisher
from robomatrix.errors import RoboMatrixError

if TYPE_CHECKING:
    from robomatrix.comm.node import Node


_EPS_S = 1e-9  # timers compare float seconds; sums of periods like 0.1 are not exact


class ServiceTimeout(RoboMatrixError, TimeoutError):
    """A service call got no response in time."""


class Publisher:
    """`publish(msg)`; `get_subscription_count()`. Thread-safe."""

    def __init__(self, node: Node, msg_type: type, topic: str, qos: QoSProfile, endpoint: TransportPublisher):
        self.node, self.msg_type, self.topic_name, self.qos = node, msg_type, topic, qos
        self._endpoint = endpoint

    @property
    def topic(self) -> str:
        return self.topic_name

    def publish(self, msg: Any) -> None:
        if not isinstance(msg, self.msg_type):
            raise TypeError(f"Publisher on '{self.topic_name}' expects {self.msg_type.__name__}, "
                            f"got {type(msg).__name__}")
        self._endpoint.publish(msg)

    def get_subscription_count(self) -> int:
        return self._endpoint.subscription_count()

    def destroy(self) -> None:
        self.node._forget(self)
        self._endpoint.close()


class Subscription:
    """Queue of received messages (KEEP_LAST `qos.depth`) drained by the node's executor."""

    def __init__(self, node: Node, msg_type: type, topic: str, callback: Callable[[Any], None],
                 qos: QoSProfile):
        self.node, self.msg_type, self.topic_name, self.callback, self.qos = node, msg_type, topic, callback, qos
        self.pending: deque = deque(maxlen=qos.depth)  # (sequence number, message)
        self._endpoint: TransportEndpoint | None = None

    @property
    def topic(self) -> str:
        return self.topic_name

    def destroy(self) -> None:
        self.node._forget(self)
        if self._endpoint is not None:
            self._endpoint.close()


class Timer:
    """Calls `callback()` every `period_s` seconds of the node's clock (timer.cancel() stops it).

    A timer that falls behind (a slow callback, or a SimClock jump) fires once and then
    keeps its phase, like an rcl timer; if time goes backwards it restarts its period.
    """

    def __init__(self, node: Node, period_s: float, callback: Callable[[], None], clock: Clock):
        if not period_s > 0:
            raise ValueError(f"Timer period must be > 0 s, got {period_s!r}")
        self.node, self.timer_period_s, self.callback, self.clock = node, float(period_s), callback, clock
        self._lock = threading.Lock()
        self._canceled = False
        self._next = clock.now() + self.timer_period_s

    def cancel(self) -> None:
        self._canceled = True

    def is_canceled(self) -> bool:
        return self._canceled

    def reset(self) -> None:
        with self._lock:
            self._canceled = False
            self._next = self.clock.now() + self.timer_period_s
        self.node._wake()

    def time_until_next_call(self) -> float | None:
        """Seconds of the timer's clock until it is due (<= 0: due); None when canceled."""
        if self._canceled:
            return None
        return self._next - self.clock.now()

    def take_if_due(self) -> bool:
        """True (and schedules the next call) when the timer is due now."""
        if self._canceled:
            return False
        now = self.clock.now()
        with self._lock:
            if now < self._next - self.timer_period_s - _EPS_S:  # time went backwards (a reset simulation)
                self._next = now + self.timer_period_s
                return False
            if now < self._next - _EPS_S:
                return False
            missed = int((now - self._next + _EPS_S) // self.timer_period_s)
            self._next += (missed + 1) * self.timer_period_s
            return True

    def destroy(self) -> None:
        self.cancel()
        self.node._forget(self)


class Future:
    """Result of an asynchronous call: `result(timeout)`, `done()`, `add_done_callback(cb)`.

    Done-callbacks run on the executor of the node that created the future, so they never
    run concurrently with that node's other callbacks.
    """

    def __init__(self, node: Node | None = None, description: str = "call"):
        self._node = node
        self._description = description
        self._event = threading.Event()
        self._result: Any = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[Future], None]] = []
        self._lock = threading.Lock()
        self._cancelled = False

    def done(self) -> bool:
        return self._event.is_set()

    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._finish(None, None, cancelled=True)

    def set_result(self, value: Any) -> None:
        self._finish(value, None)

    def set_exception(self, exc: BaseException) -> None:
        self._finish(None, exc)

    def _finish(self, value, exc, cancelled=False) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._result, self._exception, self._cancelled = value, exc, cancelled
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            self._schedule(cb)

    def _schedule(self, cb) -> None:
        if self._node is not None:
            self._node._enqueue_call(lambda: cb(self))
        else:
            cb(self)

    def add_done_callback(self, cb: Callable[[Future], None]) -> None:
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(cb)
                return
        self._schedule(cb)

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    def result(self, timeout: float | None = None) -> Any:
        """The value; raises `ServiceTimeout` after `timeout` seconds, or the call's exception."""
        if not self._event.wait(timeout):
            raise ServiceTimeout(f"{self._description} got no response within {timeout:g} s.")
        if self._exception is not None:
            raise self._exception
        return self._result

    def exception(self) -> BaseException | None:
        return self._exception


class Service:
    """Answers requests with `callback(request, response) -> response` on the node's executor."""

    def __init__(self, node: Node, srv_type: type, name: str, callback):
        self.node, self.srv_type, self.srv_name, self.callback = node, srv_type, name, callback
        self._endpoint: TransportEndpoint | None = None

    def handle(self, request: Any, reply: Callable[[Any], None]) -> None:
        response = self.callback(request, self.srv_type.Response())
        if not isinstance(response, self.srv_type.Response):
            raise TypeError(f"Service '{self.srv_name}' callback must return a "
                            f"{self.srv_type.__name__}.Response, got {type(response).__name__}")
        reply(response)

    def destroy(self) -> None:
        self.node._forget(self)
        if self._endpoint is not None:
            self._endpoint.close()


class Client:
    """`call(request, timeout_sec)`, `call_async(request)`, `wait_for_service(timeout_sec)`.

    Responses complete the future directly (not through the executor), so `call` works
    from any thread, including inside a callback of the calling node.
    """

    def __init__(self, node: Node, srv_type: type, name: str, endpoint: TransportClient):
        self.node, self.srv_type, self.srv_name = node, srv_type, name
        self._endpoint = endpoint

    def service_is_ready(self) -> bool:
        return self._endpoint.service_is_ready()

    def wait_for_service(self, timeout_sec: float | None = None) -> bool:
        deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
        while not self._endpoint.service_is_ready():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def call_async(self, request: Any) -> Future:
        if not isinstance(request, self.srv_type.Request):
            raise TypeError(f"Client of '{self.srv_name}' expects {self.srv_type.__name__}.Request, "
                            f"got {type(request).__name__}")
        future = Future(self.node, f"Service '{self.srv_name}'")
        self._endpoint.send_request(request, future.set_result)
        return future

    def call(self, request: Any, timeout_sec: float | None = 5.0) -> Any:
        """Send a request and wait for its response; `ServiceTimeout` after `timeout_sec`."""
        future = self.call_async(request)
        if future.wait(timeout_sec):
            return future.result()
        future.cancel()
        why = "" if self._endpoint.service_is_ready() else " (no server is available; check wait_for_service)"
        raise ServiceTimeout(f"Service '{self.srv_name}' did not answer within {timeout_sec:g} s{why}.")

    def destroy(self) -> None:
        self.node._forget(self)
        self._endpoint.close()
