"""`robomatrix topic list|echo|pub|hz`: like `ros2 topic`, over DDS on localhost (no ROS 2 needed).

Topics are discovered from Cyclone DDS's built-in publication/subscription topics, so
`list` and the message type for `echo`/`hz` come from the running graph; the QoS of
`echo`/`hz` adapts to the publishers (best-effort if any is, transient-local if all are).
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time

import yaml

from robomatrix.errors import UsageError, closest, unknown_name

COMMAND = "topic"
HELP = "inspect and drive topics like `ros2 topic` (list, echo, pub, hz) over DDS on localhost"
DISCOVERY_WAIT_S = 1.0


def add_wait_argument(parser) -> None:
    """`--wait S`: how long to let DDS discovery run before answering (`topic list`, `node`)."""
    parser.add_argument("--wait", type=float, default=DISCOVERY_WAIT_S,
                        help=f"discovery time, s (default: {DISCOVERY_WAIT_S:g})")


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(title="subcommands", dest="topic_command", metavar="<subcommand>")
    lst = sub.add_parser("list", help="topics with publishers or subscribers")
    lst.add_argument("-t", "--show-types", action="store_true", help="also show each topic's message type")
    add_wait_argument(lst)
    lst.set_defaults(handler=topic_list)

    echo = sub.add_parser("echo", help="print messages on a topic as YAML")
    echo.add_argument("topic")
    echo.add_argument("type", nargs="?", help="message type, e.g. nav_msgs/msg/Odometry (default: discovered)")
    echo.add_argument("--type", dest="type_opt", help="message type (same as the positional)")
    echo.add_argument("--once", action="store_true", help="print one message and exit")
    echo.add_argument("--count", type=int, help="print this many messages and exit")
    echo.add_argument("--field", help="print only this field, e.g. pose.pose.position")
    echo.add_argument("--timeout", type=float, help="give up (exit 1) if nothing arrives within this many s")
    echo.set_defaults(handler=topic_echo)

    pub = sub.add_parser("pub", help="publish a message given as YAML, e.g. \"{linear: {x: 0.2}}\"")
    pub.add_argument("topic")
    pub.add_argument("type", help="message type, e.g. geometry_msgs/msg/Twist")
    pub.add_argument("values", nargs="?", default="{}", help="field values as a YAML mapping (default: {})")
    pub.add_argument("-r", "--rate", type=float, default=1.0, help="publishing rate, Hz (default: 1)")
    group = pub.add_mutually_exclusive_group()
    group.add_argument("-1", "--once", action="store_true", help="publish once and exit")
    group.add_argument("-t", "--times", type=int, help="publish this many times and exit")
    pub.add_argument("--latched", action="store_true", help="transient-local durability (late joiners get it)")
    pub.add_argument("--wait-matching", type=float, default=1.0,
                     help="with --once/--times, wait up to this many s for a subscriber first (default: 1)")
    pub.set_defaults(handler=topic_pub)

    hz = sub.add_parser("hz", help="print the average publishing rate of a topic")
    hz.add_argument("topic")
    hz.add_argument("type", nargs="?", help="message type (default: discovered)")
    hz.add_argument("-w", "--window", type=int, default=100, help="messages in the averaging window")
    hz.add_argument("--duration", type=float, help="stop after this many s (default: until Ctrl-C)")
    hz.set_defaults(handler=topic_hz)


# ---------------------------------------------------------------------- graph
def _context():
    from robomatrix import comm

    return comm.Context(transport="dds")


def discover(ctx, wait_s: float, want_topic: str | None = None) -> dict[str, dict]:
    """`{'/odom': {'types': {...}, 'publishers': [qos...], 'subscribers': n}}` seen within `wait_s`
    (returns early once `want_topic` has a publisher)."""
    from cyclonedds.builtin import (
        BuiltinDataReader,
        BuiltinTopicDcpsPublication,
        BuiltinTopicDcpsSubscription,
    )

    participant = ctx.transport.participant
    readers = {"publishers": BuiltinDataReader(participant, BuiltinTopicDcpsPublication),
               "subscribers": BuiltinDataReader(participant, BuiltinTopicDcpsSubscription)}
    graph: dict[str, dict] = {}
    deadline = time.monotonic() + wait_s
    while True:
        for role, reader in readers.items():
            for sample in reader.take(N=256):
                name = sample.topic_name or ""
                if sample.participant_key == participant.guid or not name.startswith("rt/"):
                    continue
                entry = graph.setdefault("/" + name[3:], {"types": set(), "publishers": [],
                                                                       "subscribers": 0})
                entry["types"].add(sample.type_name)
                if role == "publishers":
                    entry["publishers"].append(sample.qos)
                else:
                    entry["subscribers"] += 1
        if time.monotonic() >= deadline or (want_topic and graph.get(want_topic, {}).get("publishers")):
            return graph
        time.sleep(0.05)


def _ros_type(dds_name: str) -> str:
    parts = dds_name.split("::")
    return f"{parts[0]}/{parts[1]}/{parts[-1].rstrip('_')}" if len(parts) == 4 else dds_name


def _message_class(name: str):
    from robomatrix.msgs import MESSAGE_TYPES, message_type

    try:
        return message_type(name)
    except KeyError:
        raise unknown_name("message type", name, MESSAGE_TYPES) from None


def _topic_name(name: str) -> str:
    from robomatrix.comm.names import expand_name

    return expand_name(name)


def _resolve_type_and_qos(ctx, topic: str, given: str | None, wait_s: float = 5.0):
    """The message class (given, or discovered) and a QoS matching the topic's publishers."""
    from cyclonedds.core import Policy

    from robomatrix import comm
    from robomatrix.comm.transport import Durability, Reliability

    graph = discover(ctx, wait_s, want_topic=topic)
    entry = graph.get(topic)
    if given is None:
        if not entry or not entry["types"]:
            raise UsageError(f"No publisher of '{topic}' found within {wait_s:g} s; give the message type "
                             f"(e.g. `robomatrix topic echo {topic} nav_msgs/msg/Odometry`).")
        if len(entry["types"]) > 1:
            raise UsageError(f"Topic '{topic}' has several types ({', '.join(sorted(entry['types']))}); give one.")
        given = _ros_type(next(iter(entry["types"])))
    cls = _message_class(given)
    pubs = entry["publishers"] if entry else []
    best_effort = not pubs or any(q[Policy.Reliability] == Policy.Reliability.BestEffort for q in pubs)
    latched = bool(pubs) and all(q[Policy.Durability] == Policy.Durability.TransientLocal for q in pubs)
    qos = comm.QoSProfile(depth=10, reliability=Reliability.BEST_EFFORT if best_effort else Reliability.RELIABLE,
                          durability=Durability.TRANSIENT_LOCAL if latched and not best_effort else Durability.VOLATILE)
    return cls, qos


# ---------------------------------------------------------------------- messages
def to_plain(msg):
    """A message as plain YAML-able data; byte payloads are summarised, not dumped."""
    if dataclasses.is_dataclass(msg):
        return {f.name: to_plain(getattr(msg, f.name)) for f in dataclasses.fields(msg)}
    if isinstance(msg, (bytes, bytearray, memoryview)):
        return f"<{len(msg)} bytes>"
    if isinstance(msg, (list, tuple)):
        return [to_plain(v) for v in msg]
    return msg


def fill_message(cls, values, path: str = "", root: str = ""):
    """A `cls` message with the fields in `values` (a mapping) set; UsageError naming an unknown or bad field."""
    msg = cls()
    if values is None:
        return msg
    if not isinstance(values, dict):
        raise UsageError(f"Values for {path or cls.__name__} must be a mapping like '{{field: value}}', got {values!r}.")
    root = root or _type_label(cls)
    names = [f.name for f in dataclasses.fields(msg)]
    for key, value in values.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in names:
            hint = closest(key, names)
            hint = f" Did you mean '{path + '.' if path else ''}{hint}'?" if hint else ""
            raise UsageError(f"Unknown field '{where}' in {root}.{hint} Valid here: {', '.join(names)}.")
        current = getattr(msg, key)
        if dataclasses.is_dataclass(current):
            setattr(msg, key, fill_message(type(current), value, where, root))
        else:
            setattr(msg, key, _convert(current, value, where))
    return msg


def _type_label(cls) -> str:
    from robomatrix.msgs import ros_type_name

    return ros_type_name(cls)


def _convert(current, value, where: str):
    try:
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise TypeError
            return value
        if isinstance(current, int):
            if isinstance(value, bool) or int(value) != value:
                raise TypeError
            return int(value)
        if isinstance(current, float):
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if isinstance(current, str):
            return value if isinstance(value, str) else str(value)
        if isinstance(current, bytes):
            return value.encode() if isinstance(value, str) else bytes(value)
        if isinstance(current, list):
            if not isinstance(value, list):
                raise TypeError
            if current and len(value) != len(current):  # fixed-size array
                raise UsageError(f"Field '{where}' needs {len(current)} values, got {len(value)}.")
            return value
    except (TypeError, ValueError):
        pass
    raise UsageError(f"Field '{where}' expects {type(current).__name__}, got {value!r}.")


def parse_values(text: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"Message values are not valid YAML: {str(exc).splitlines()[0]}") from None


def _field(plain, field_path: str):
    for part in field_path.split("."):
        if not isinstance(plain, dict) or part not in plain:
            raise UsageError(f"Message has no field '{field_path}' (at '{part}').")
        plain = plain[part]
    return plain


# ---------------------------------------------------------------------- commands
def topic_list(args) -> int:
    ctx = _context()
    try:
        graph = discover(ctx, args.wait)
    finally:
        ctx.shutdown()
    for name in sorted(graph):
        types = ", ".join(sorted(_ros_type(t) for t in graph[name]["types"]))
        print(f"{name} [{types}]" if args.show_types else name)
    return 0


def _spin_for(node, until, timeout_s: float | None) -> bool:
    from robomatrix import comm

    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while not until():
        if deadline is not None and time.monotonic() >= deadline:
            return False
        comm.spin_once(node, timeout_sec=0.05)
    return True


def topic_echo(args) -> int:
    from robomatrix import comm

    topic = _topic_name(args.topic)
    limit = 1 if args.once else args.count
    ctx = _context()
    try:
        cls, qos = _resolve_type_and_qos(ctx, topic, args.type or args.type_opt)
        node = comm.Node("robomatrix_topic_echo", context=ctx)
        printed = [0]

        def show(msg) -> None:
            if limit is not None and printed[0] >= limit:  # one spin_once may deliver several queued samples
                return
            plain = to_plain(msg)
            if args.field:
                plain = _field(plain, args.field)
            text = yaml.safe_dump(plain, sort_keys=False, default_flow_style=False).rstrip()
            if text.endswith("\n..."):
                text = text[:-4]
            print(text + "\n---", flush=True)
            printed[0] += 1

        node.create_subscription(cls, topic, show, qos)
        done = _spin_for(node, lambda: limit is not None and printed[0] >= limit, args.timeout)
        if not done and printed[0] == 0:
            raise UsageError(f"No message on '{topic}' within {args.timeout:g} s.")
        return 0
    finally:
        ctx.shutdown()


def topic_pub(args) -> int:
    from robomatrix import comm

    if not args.rate > 0:
        raise UsageError(f"--rate must be > 0 Hz, got {args.rate}.")
    topic = _topic_name(args.topic)
    cls = _message_class(args.type)
    msg = fill_message(cls, parse_values(args.values))
    times = 1 if args.once else args.times
    ctx = _context()
    try:
        node = comm.Node("robomatrix_topic_pub", context=ctx)
        qos = comm.QOS_LATCHED if args.latched else comm.QoSProfile(depth=10)
        pub = node.create_publisher(cls, topic, qos)
        if times is not None:
            _spin_for(node, lambda: pub.get_subscription_count() > 0, args.wait_matching)
        print(f"publisher: beginning loop\npublishing #1: {_type_label(cls)}({to_plain(msg)})", file=sys.stderr)
        sent = 0
        next_at = time.monotonic()
        while True:
            pub.publish(msg)
            sent += 1
            if times is not None and sent >= times:
                break
            next_at += 1.0 / args.rate
            while (remaining := next_at - time.monotonic()) > 0:
                comm.spin_once(node, timeout_sec=remaining)
        # Give reliable delivery a moment before the participant goes away.
        _spin_for(node, lambda: False, 0.2)
        return 0
    finally:
        ctx.shutdown()


def topic_hz(args) -> int:
    from robomatrix import comm

    topic = _topic_name(args.topic)
    ctx = _context()
    try:
        cls, qos = _resolve_type_and_qos(ctx, topic, args.type)
        node = comm.Node("robomatrix_topic_hz", context=ctx)
        stamps: list[float] = []
        node.create_subscription(cls, topic, lambda _msg: stamps.append(time.monotonic()), qos)
        end = None if args.duration is None else time.monotonic() + args.duration
        next_report = time.monotonic() + 1.0
        while end is None or time.monotonic() < end:
            comm.spin_once(node, timeout_sec=0.05)
            if time.monotonic() >= next_report:
                next_report += 1.0
                print(rate_report(stamps[-(args.window + 1):]), flush=True)
        return 0
    finally:
        ctx.shutdown()


def rate_report(stamps: list[float]) -> str:
    """ros2-style `average rate: 15.002` block from message arrival times (s)."""
    if len(stamps) < 2:
        return "no new messages"
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    mean = sum(gaps) / len(gaps)
    std = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps))
    return (f"average rate: {1.0 / mean:.3f}\n\tmin: {min(gaps):.3f}s max: {max(gaps):.3f}s "
            f"std dev: {std:.5f}s window: {len(stamps)}")
