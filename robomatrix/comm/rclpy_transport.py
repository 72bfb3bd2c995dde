"""The `rclpy` transport: our nodes' endpoints as real ROS 2 (rclpy) endpoints.

Selected with `comm.Context(transport="rclpy")` on a machine with ROS 2 sourced; importing
this module raises ImportError without rclpy (then `comm.available_transports()` omits it).
Written against the public rclpy API (Humble and later):
- one rclpy `Context` (own `rclpy.init`, optional `domain_id`) and one rclpy node
  (`robomatrix_<pid>_<n>`) carrying every endpoint of the transport, spun by a
  `MultiThreadedExecutor` on a background thread; its callbacks only hand messages on
  (`deliver`), our executors run the node callbacks as with every other transport;
- messages converted field by field to the rclpy classes of the same ROS type name
  (`rosidl_runtime_py.utilities.get_message` / `get_service`, `robomatrix.comm.rclpy_convert`);
- discovery 'localhost' (the default) sets `ROS_LOCALHOST_ONLY=1` and
  `ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST` unless you set either yourself.
A service callback of ours answers asynchronously; the rclpy service callback (reentrant
group) waits for that answer up to `SERVICE_REPLY_TIMEOUT_S`.
"""
from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.context import Context as RosContext
from rclpy.executors import MultiThreadedExecutor
from rclpy.qos import DurabilityPolicy, HistoryPolicy, ReliabilityPolicy
from rclpy.qos import QoSProfile as RosQoSProfile
from rosidl_runtime_py.utilities import get_message, get_service

from robomatrix.comm.log import comm_logger
from robomatrix.comm.rclpy_convert import from_ros, our_ros_name, to_ros
from robomatrix.comm.transport import (
    Durability,
    EndpointTracking,
    QoSProfile,
    Reliability,
    Transport,
    TransportClient,
    TransportEndpoint,
    TransportPublisher,
    register_transport,
    reply_once,
)

SERVICE_REPLY_TIMEOUT_S = 30.0
_instances = itertools.count()


def to_rclpy_qos(qos: QoSProfile) -> RosQoSProfile:
    return RosQoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=qos.depth,
        reliability=(ReliabilityPolicy.RELIABLE if qos.reliability is Reliability.RELIABLE
                     else ReliabilityPolicy.BEST_EFFORT),
        durability=(DurabilityPolicy.TRANSIENT_LOCAL if qos.durability is Durability.TRANSIENT_LOCAL
                    else DurabilityPolicy.VOLATILE))


class _Endpoint(TransportEndpoint):
    def __init__(self, transport: RclpyTransport, handle, destroy: Callable[[Any], Any]):
        self._transport, self.handle, self._destroy, self.closed = transport, handle, destroy, False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._transport._untrack(self)
            try:
                self._destroy(self.handle)
            except Exception as exc:  # the rclpy context may already be shut down
                comm_logger().debug(f"rclpy: destroying an endpoint failed: {exc}")


class _Publisher(_Endpoint, TransportPublisher):
    def __init__(self, transport, topic: str, msg_type: type, qos: QoSProfile):
        self.msg_type, self.topic = msg_type, topic
        self.ros_type = get_message(our_ros_name(msg_type))
        node = transport.ros_node
        super().__init__(transport, node.create_publisher(self.ros_type, topic, to_rclpy_qos(qos)),
                         node.destroy_publisher)

    def publish(self, msg: Any) -> None:
        if self.closed:
            raise RuntimeError(f"publish on closed publisher of '{self.topic}'")
        if not isinstance(msg, self.msg_type):
            raise TypeError(f"'{self.topic}' carries {self.msg_type.__name__}, got {type(msg).__name__}")
        self.handle.publish(to_ros(msg, self.ros_type, get_message))

    def subscription_count(self) -> int:
        return 0 if self.closed else self.handle.get_subscription_count()


class _Client(_Endpoint, TransportClient):
    def __init__(self, transport, name: str, srv_type: type):
        self.srv_type, self.name = srv_type, name
        self.ros_type = get_service(srv_type.ros_name)
        node = transport.ros_node
        super().__init__(transport, node.create_client(self.ros_type, name, callback_group=transport.group),
                         node.destroy_client)

    def send_request(self, request: Any, on_response: Callable[[Any], None]) -> None:
        if self.closed:
            raise RuntimeError(f"request on closed client of '{self.name}'")
        future = self.handle.call_async(to_ros(request, self.ros_type.Request, get_message))

        def done(f) -> None:
            if not self.closed and f.result() is not None:
                on_response(from_ros(f.result(), self.srv_type.Response))

        future.add_done_callback(done)

    def service_is_ready(self) -> bool:
        return not self.closed and self.handle.service_is_ready()


class RclpyTransport(EndpointTracking, Transport):
    """Endpoints on one rclpy node in its own rclpy context; see the module docstring."""

    name = "rclpy"

    def __init__(self, domain_id: int | None = None, discovery: str | None = None):
        self._init_tracking()
        mode = (discovery or os.environ.get("ROBOMATRIX_DISCOVERY") or "localhost").strip().lower()
        if mode == "localhost" and not ({"ROS_LOCALHOST_ONLY", "ROS_AUTOMATIC_DISCOVERY_RANGE"} & set(os.environ)):
            os.environ["ROS_LOCALHOST_ONLY"] = "1"  # Humble
            os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # Iron and later
        self.context = RosContext()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.ros_node = rclpy.create_node(f"robomatrix_{os.getpid()}_{next(_instances)}", context=self.context)
        self.group = ReentrantCallbackGroup()
        self._executor = MultiThreadedExecutor(context=self.context)
        self._executor.add_node(self.ros_node)
        self._thread = threading.Thread(target=self._spin, name="robomatrix-rclpy", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except Exception as exc:  # ExternalShutdownException and friends at shutdown
            if not self._closed:
                comm_logger().error(f"rclpy executor stopped: {type(exc).__name__}: {exc}")

    def create_publisher(self, topic: str, msg_type: type, qos: QoSProfile) -> TransportPublisher:
        return self._track(_Publisher(self, topic, msg_type, qos))

    def create_subscription(self, topic, msg_type, qos, deliver) -> TransportEndpoint:
        ros_type = get_message(our_ros_name(msg_type))
        handle = self.ros_node.create_subscription(
            ros_type, topic, lambda m: deliver(from_ros(m, msg_type)), to_rclpy_qos(qos))
        return self._track(_Endpoint(self, handle, self.ros_node.destroy_subscription))

    def create_service(self, name, srv_type, deliver) -> TransportEndpoint:
        ros_type = get_service(srv_type.ros_name)

        def serve(ros_request, ros_response):
            answered = threading.Event()
            box = []
            deliver(from_ros(ros_request, srv_type.Request),
                    reply_once(name, lambda response: (box.append(response), answered.set())))
            if not answered.wait(SERVICE_REPLY_TIMEOUT_S):
                comm_logger().error(f"Service '{name}' did not answer within {SERVICE_REPLY_TIMEOUT_S:.0f} s; "
                                    "sending a default response.")
                return ros_response
            return to_ros(box[0], ros_type.Response, get_message)

        handle = self.ros_node.create_service(ros_type, name, serve, callback_group=self.group)
        return self._track(_Endpoint(self, handle, self.ros_node.destroy_service))

    def create_client(self, name, srv_type) -> TransportClient:
        return self._track(_Client(self, name, srv_type))

    def shutdown(self) -> None:
        if not self._close_endpoints():
            return
        self._executor.shutdown(timeout_sec=5.0)
        self.ros_node.destroy_node()
        self.context.try_shutdown()
        self._thread.join(5.0)


register_transport("rclpy", RclpyTransport)
