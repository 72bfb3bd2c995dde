"""Node framework over interchangeable transports (inproc, Cyclone DDS, rclpy).

rclpy-shaped: `Node` with publishers, subscriptions, timers, services, clients,
parameters and a logger; executors that spin nodes; an action-style helper for
long-running work. The transport is picked per `Context` (`inproc`, `dds`, `rclpy`).

    from robomatrix import comm
    from robomatrix.msgs import String

    comm.init()                                   # ROBOMATRIX_TRANSPORT or 'inproc'
    node = comm.Node("talker")
    pub = node.create_publisher(String, "chatter", 10)
    node.create_timer(0.5, lambda: pub.publish(String(data="hello")))
    comm.spin(node)                               # Ctrl-C ends it cleanly
    comm.shutdown()

In-process, messages are passed by reference: never modify a received message, nor one
you have published.
"""
from robomatrix.comm.action import (
    ActionClient,
    ActionServer,
    ActionTimeout,
    ClientGoalHandle,
    ServerGoalHandle,
)
from robomatrix.comm.clock import Clock, SimClock, SystemClock
from robomatrix.comm.context import Context, available_transports, default_context, init, ok, shutdown
from robomatrix.comm.entities import Client, Future, Publisher, Service, ServiceTimeout, Subscription, Timer
from robomatrix.comm.executor import (
    Executor,
    SingleThreadedExecutor,
    spin,
    spin_once,
    spin_until,
    spin_until_future_complete,
)
from robomatrix.comm.log import Logger
from robomatrix.comm.names import RosArgs, expand_name, parse_ros_args, parse_ros_args_full, resolve_name
from robomatrix.comm.node import JsonPublisher, Node
from robomatrix.comm.parameters import Parameter
from robomatrix.comm.transport import (
    QOS_DEFAULT,
    QOS_LATCHED,
    QOS_SENSOR_DATA,
    TRANSPORTS,
    Durability,
    QoSProfile,
    Reliability,
    Transport,
    register_transport,
)

__all__ = [
    "ActionClient", "ActionServer", "ActionTimeout", "ClientGoalHandle", "ServerGoalHandle",
    "Clock", "SimClock", "SystemClock",
    "Context", "available_transports", "default_context", "init", "ok", "shutdown",
    "Client", "Future", "Publisher", "Service", "ServiceTimeout", "Subscription", "Timer",
    "Executor", "SingleThreadedExecutor", "spin", "spin_once", "spin_until", "spin_until_future_complete",
    "Logger", "RosArgs", "expand_name", "parse_ros_args", "parse_ros_args_full", "resolve_name",
    "JsonPublisher", "Node", "Parameter",
    "QOS_DEFAULT", "QOS_LATCHED", "QOS_SENSOR_DATA", "TRANSPORTS", "Durability", "QoSProfile",
    "Reliability", "Transport", "register_transport",
]
