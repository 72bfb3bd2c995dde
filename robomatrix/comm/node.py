"""`Node`: the rclpy-shaped unit of a graph (publishers, subscriptions, timers, services,
clients, parameters, logger, clock) over whatever transport its `Context` holds.

Threading model (like rclpy's single-threaded executor): transports may deliver from any
thread; the node only queues that work, and the executor spinning the node runs the
callbacks one at a time on its own thread, so callbacks of one node never run
concurrently. Across subscriptions, queued messages run in arrival order; each
subscription keeps only its newest `qos.depth` messages (KEEP_LAST).
"""
from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from robomatrix.comm.clock import Clock, SimClock, SystemClock
from robomatrix.comm.context import Context, default_context
from robomatrix.comm.entities import Client, Publisher, Service, Subscription, Timer
from robomatrix.comm.log import Logger
from robomatrix.comm.names import (
    RosArgs,
    normalize_namespace,
    parse_ros_args_full,
    resolve_name,
    validate_node_name,
)
from robomatrix.comm.parameters import Parameter, ParameterStore
from robomatrix.comm.transport import QoSProfile
from robomatrix.msgs import Clock as ClockMsg
from robomatrix.msgs import String


def as_qos(qos: int | QoSProfile) -> QoSProfile:
    if isinstance(qos, QoSProfile):
        return qos
    if isinstance(qos, int) and not isinstance(qos, bool):
        return QoSProfile(depth=qos)
    raise TypeError(f"qos must be a history depth (int) or a QoSProfile, got {qos!r}")


class Node:
    """A node; see the module docstring and `robomatrix.comm`'s API summary.

    Name, namespace, parameters, remappings and log level may be overridden by ROS-style
    `cli_args` (`--ros-args -r __node:=name -r __ns:=/ns -p k:=v -r from:=to --log-level debug`)
    and by the context's global arguments (from `comm.init(args=...)`).
    """

    def __init__(self, node_name: str, namespace: str = "", *, context: Context | None = None,
                 parameter_overrides: dict[str, Any] | None = None,
                 remappings: dict[str, str] | None = None,
                 cli_args: list[str] | None = None, clock: Clock | None = None,
                 use_global_arguments: bool = True):
        self.context = context if context is not None else default_context()
        own = parse_ros_args_full(cli_args)
        shared = self.context.args if use_global_arguments else RosArgs()
        validate_node_name(node_name)
        rules = _remap_rules(node_name, own, remappings, shared)
        renamed = rules.get("__node", node_name)
        if renamed != node_name:  # rules scoped to the new name ('new_name:from:=to') apply too
            rules = {**_remap_rules(renamed, own, remappings, shared), **rules}
        self._name = validate_node_name(renamed)
        self._namespace = normalize_namespace(rules.get("__ns", namespace))
        self._remappings = rules
        overrides = dict(parameter_overrides or {})
        overrides.update(shared.params_for(self._name, self.get_fully_qualified_name()))
        overrides.update(own.params_for(self._name, self.get_fully_qualified_name()))
        self._parameters = ParameterStore(self._name, overrides)
        self._logger = Logger(self._name, own.log_level_for(self._name) or shared.log_level_for(self._name))

        self._lock = threading.Lock()
        self._graph_lock = threading.Lock()  # orders the node's announcements to the transport
        self._seq = itertools.count()
        self._subscriptions: list[Subscription] = []
        self._timers: list[Timer] = []
        self._entities: list[Any] = []
        self._calls: deque = deque()
        self._executor = None
        self._destroyed = False
        self._on_destroy: list[Callable[[], None]] = []

        use_sim_time = self.declare_parameter(
            "use_sim_time", False, description="read time from /clock instead of the wall").value
        if clock is None:
            clock = SimClock() if use_sim_time else SystemClock()
            if use_sim_time:
                self._create_direct_subscription(ClockMsg, "/clock", lambda m: clock.set_time(m.clock.to_sec()),
                                                 QoSProfile(depth=1))
        self._clock = clock
        self.context._add_node(self)
        self._announce()

    # ------------------------------------------------------------------ identity
    def get_name(self) -> str:
        return self._name

    def get_namespace(self) -> str:
        return self._namespace

    def get_fully_qualified_name(self) -> str:
        return self._namespace.rstrip("/") + "/" + self._name

    def resolve_topic_name(self, topic: str) -> str:
        return resolve_name(topic, self._namespace, self._name, self._remappings)

    resolve_service_name = resolve_topic_name

    def get_logger(self) -> Logger:
        return self._logger

    def get_clock(self) -> Clock:
        return self._clock

    @property
    def executor(self):
        return self._executor

    # ------------------------------------------------------------------ endpoints
    def _check_alive(self) -> None:
        if self._destroyed:
            raise RuntimeError(f"node '{self._name}' was destroyed")

    def create_publisher(self, msg_type: type, topic: str, qos: int | QoSProfile = 10) -> Publisher:
        self._check_alive()
        name, qos = self.resolve_topic_name(topic), as_qos(qos)
        pub = Publisher(self, msg_type, name, qos, self.context.transport.create_publisher(name, msg_type, qos))
        self._remember(pub)
        return pub

    def create_subscription(self, msg_type: type, topic: str, callback: Callable[[Any], None],
                            qos: int | QoSProfile = 10) -> Subscription:
        self._check_alive()
        name, qos = self.resolve_topic_name(topic), as_qos(qos)
        sub = Subscription(self, msg_type, name, callback, qos)
        with self._lock:
            self._subscriptions.append(sub)

        def deliver(msg, sub=sub):
            with self._lock:
                if self._destroyed or sub not in self._subscriptions:
                    return
                sub.pending.append((next(self._seq), msg))
            self._wake()

        sub._endpoint = self.context.transport.create_subscription(name, msg_type, qos, deliver)
        self._remember(sub)
        return sub

    def _create_direct_subscription(self, msg_type: type, topic: str, callback: Callable[[Any], None],
                                    qos: int | QoSProfile = 10) -> Subscription:
        """Internal: `callback` runs on the transport's delivery thread (must be short and thread-safe).

        Used where waiting on the executor would deadlock: action client state, /clock.
        """
        self._check_alive()
        name, qos = self.resolve_topic_name(topic), as_qos(qos)
        sub = Subscription(self, msg_type, name, callback, qos)
        sub._endpoint = self.context.transport.create_subscription(name, msg_type, qos, callback)
        self._remember(sub)
        return sub

    def create_json_subscription(self, message_class: type, topic: str, callback: Callable[[Any], None],
                                 qos: int | QoSProfile = 10) -> Subscription:
        """Subscribe to one of the stack's JSON messages (`robomatrix.messages`) on a std_msgs/String topic.

        A malformed message is logged as one warning line and dropped; it never reaches `callback`.
        """
        from robomatrix.messages import MessageError

        def on_string(msg: String) -> None:
            try:
                decoded = message_class.from_msg(msg)
            except MessageError as exc:
                self._logger.warning(f"Dropped a malformed {message_class.__name__} on "
                                     f"'{self.resolve_topic_name(topic)}': {exc}")
                return
            callback(decoded)

        return self.create_subscription(String, topic, on_string, qos)

    def create_json_publisher(self, message_class: type, topic: str, qos: int | QoSProfile = 10):
        """A publisher of one of the stack's JSON messages: `pub.publish(Plan(...))`."""
        return JsonPublisher(message_class, self.create_publisher(String, topic, qos))

    def create_timer(self, timer_period_sec: float, callback: Callable[[], None],
                     clock: Clock | None = None) -> Timer:
        self._check_alive()
        timer = Timer(self, timer_period_sec, callback, clock or self._clock)
        with self._lock:
            self._timers.append(timer)
        if clock is not None and self._executor is not None:
            clock.add_listener(self._executor.wake)
        self._remember(timer)
        self._wake()
        return timer

    def create_service(self, srv_type: type, srv_name: str, callback) -> Service:
        self._check_alive()
        name = self.resolve_service_name(srv_name)
        srv = Service(self, srv_type, name, callback)

        def deliver(request, reply, srv=srv):
            self._enqueue_call(lambda: srv.handle(request, reply))

        srv._endpoint = self.context.transport.create_service(name, srv_type, deliver)
        self._remember(srv)
        return srv

    def create_client(self, srv_type: type, srv_name: str) -> Client:
        self._check_alive()
        name = self.resolve_service_name(srv_name)
        client = Client(self, srv_type, name, self.context.transport.create_client(name, srv_type))
        self._remember(client)
        return client

    def _remember(self, entity) -> None:
        with self._lock:
            self._entities.append(entity)
        if getattr(entity, "_endpoint", None) is not None:
            self._announce()

    def _forget(self, entity) -> None:
        with self._lock:
            for bucket in (self._entities, self._subscriptions, self._timers):
                if entity in bucket:
                    bucket.remove(entity)
        if getattr(entity, "_endpoint", None) is not None:
            self._announce()

    def _announce(self) -> None:
        """Tell the transport which endpoints this node owns now (the ROS graph, `ros2 node list`)."""
        with self._graph_lock:
            with self._lock:
                if self._destroyed:
                    return
                endpoints = [e._endpoint for e in self._entities if getattr(e, "_endpoint", None) is not None]
            self.context.transport.update_node(self, self._namespace, self._name, endpoints)

    # ------------------------------------------------------------------ parameters
    def declare_parameter(self, name: str, value: Any = None, description: str = "",
                          read_only: bool = False, ignore_override: bool = False) -> Parameter:
        return self._parameters.declare(name, value, description, read_only, ignore_override)

    def declare_parameters(self, namespace: str, parameters: list[tuple]) -> list[Parameter]:
        prefix = f"{namespace}." if namespace else ""
        return [self.declare_parameter(prefix + p[0], *p[1:]) for p in parameters]

    def get_parameter(self, name: str) -> Parameter:
        return self._parameters.get(name)

    def get_parameters(self, names: list[str]) -> list[Parameter]:
        return [self._parameters.get(n) for n in names]

    def has_parameter(self, name: str) -> bool:
        return self._parameters.has(name)

    def undeclare_parameter(self, name: str) -> None:
        self._parameters.undeclare(name)

    def set_parameters(self, parameters: dict[str, Any] | list[Parameter]) -> list[Parameter]:
        """Set declared parameters (all or none); a wrong type or undeclared name raises UsageError."""
        return self._parameters.set(parameters)

    def add_on_set_parameters_callback(self, callback) -> None:
        self._parameters.add_on_set_callback(callback)

    def get_parameter_names(self) -> list[str]:
        return self._parameters.names()

    # ------------------------------------------------------------------ executor side
    def _wake(self) -> None:
        executor = self._executor
        if executor is not None:
            executor.wake()

    def _enqueue_call(self, fn: Callable[[], None]) -> None:
        with self._lock:
            if self._destroyed:
                return
            self._calls.append((next(self._seq), fn))
        self._wake()

    def _take_work(self) -> list[Callable[[], None]]:
        """Everything ready to run now: due timers first, then messages and calls in arrival order."""
        with self._lock:
            if self._destroyed:
                return []
            timers = [t for t in self._timers if t.take_if_due()]
            queued = list(self._calls)
            self._calls.clear()
            for sub in self._subscriptions:
                queued.extend((seq, _bind(sub.callback, msg)) for seq, msg in sub.pending)
                sub.pending.clear()
        queued.sort(key=lambda item: item[0])
        return [t.callback for t in timers] + [fn for _, fn in queued]

    def _next_wall_wait(self) -> float | None:
        """Wall seconds until the next timer on a wall clock is due (None: no such timer)."""
        with self._lock:
            waits = [t.time_until_next_call() for t in self._timers if t.clock.is_wall]
        waits = [w for w in waits if w is not None]
        return min(waits) if waits else None

    def _clocks(self) -> list[Clock]:
        with self._lock:
            return list({id(c): c for c in [self._clock, *(t.clock for t in self._timers)]}.values())

    # ------------------------------------------------------------------ teardown
    def destroy_node(self) -> None:
        """Close every endpoint of this node and leave its executor and context. Idempotent."""
        with self._lock:
            if self._destroyed:
                return
            self._destroyed = True
            entities = list(self._entities)
            self._entities.clear()
            self._subscriptions.clear()
            self._calls.clear()
        for hook in list(self._on_destroy):  # first, so action workers can still report
            hook()
        for entity in entities:
            if isinstance(entity, Timer):
                entity.cancel()
            else:
                endpoint = getattr(entity, "_endpoint", None)
                if endpoint is not None:
                    endpoint.close()
        with self._graph_lock:
            self.context.transport.remove_node(self)
        if self._executor is not None:
            self._executor.remove_node(self)
        self.context._remove_node(self)

    def _add_destroy_hook(self, hook: Callable[[], None]) -> None:
        """Internal: run `hook()` when the node is destroyed (action servers stop their workers)."""
        self._on_destroy.append(hook)

    def __repr__(self) -> str:
        return f"<Node {self.get_fully_qualified_name()} on {self.context.transport_name}>"


def _remap_rules(node_name: str, own: RosArgs, remappings: dict | None, shared: RosArgs) -> dict[str, str]:
    """First match wins: the node's own --ros-args, then `remappings=`, then the context's arguments."""
    rules = {**own.remaps_for(node_name), **dict(remappings or {})}
    for source, target in shared.remaps_for(node_name).items():
        rules.setdefault(source, target)
    return rules


def _bind(callback, msg):
    return lambda: callback(msg)


class JsonPublisher:
    """Publishes `robomatrix.messages` objects as JSON in std_msgs/String."""

    def __init__(self, message_class: type, publisher: Publisher):
        self.message_class, self.publisher = message_class, publisher
        self.topic_name = publisher.topic_name

    def publish(self, message) -> None:
        if not isinstance(message, self.message_class):
            raise TypeError(f"Publisher on '{self.topic_name}' expects {self.message_class.__name__}, "
                            f"got {type(message).__name__}")
        self.publisher.publish(message.to_msg())

    def get_subscription_count(self) -> int:
        return self.publisher.get_subscription_count()

    def destroy(self) -> None:
        self.publisher.destroy()
