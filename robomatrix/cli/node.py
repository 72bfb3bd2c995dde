"""`robomatrix node list|info`: like `ros2 node`, over DDS on localhost (no ROS 2 needed).

Nodes come from `ros_discovery_info`, where every participant (ours, and ROS 2's on
rmw_cyclonedds_cpp) announces its nodes with the GIDs of their readers and writers; `info`
matches those GIDs with the endpoints DDS discovery reports, as `ros2 node info` does.
"""
from __future__ import annotations

import time

from robomatrix.cli.topic import add_wait_argument
from robomatrix.errors import UsageError, unknown_name

COMMAND = "node"
HELP = "list running nodes and what they publish, like `ros2 node` (list, info), over DDS on localhost"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(title="subcommands", dest="node_command", metavar="<subcommand>")
    lst = sub.add_parser("list", help="fully qualified names of the running nodes")
    lst.add_argument("-c", "--count-nodes", action="store_true", help="print only the number of nodes")
    add_wait_argument(lst)
    lst.set_defaults(handler=node_list)

    info = sub.add_parser("info", help="a node's subscribers, publishers, service servers and clients")
    info.add_argument("node", help="fully qualified node name, e.g. /hardware_node")
    add_wait_argument(info)
    info.set_defaults(handler=node_info)


def _check_wait(wait: float) -> None:
    if not 0 < wait <= 60:
        raise UsageError(f"--wait must be between 0 and 60 s, got {wait:g}.")


def graph_nodes(wait_s: float, with_endpoints: bool = False):
    """(nodes announced within `wait_s`, {endpoint GUID: (DDS topic name, DDS type name)})."""
    from cyclonedds.builtin import (
        BuiltinDataReader,
        BuiltinTopicDcpsPublication,
        BuiltinTopicDcpsSubscription,
    )

    from robomatrix import comm

    ctx = comm.Context(transport="dds")
    reader = None
    try:
        transport = ctx.transport
        reader = transport.graph_reader()
        builtin = ([BuiltinDataReader(transport.participant, t)
                    for t in (BuiltinTopicDcpsPublication, BuiltinTopicDcpsSubscription)] if with_endpoints else [])
        endpoints: dict[bytes, tuple[str, str]] = {}
        deadline = time.monotonic() + wait_s
        while True:
            reader.poll()
            for builtin_reader in builtin:
                for sample in builtin_reader.take(N=256):
                    if sample.topic_name:
                        endpoints[sample.key.bytes] = (sample.topic_name, sample.type_name)
            if time.monotonic() >= deadline:
                return reader.nodes(), endpoints
            time.sleep(0.05)
    finally:
        if reader is not None:
            reader.close()
        ctx.shutdown()


def node_list(args) -> int:
    import sys

    _check_wait(args.wait)
    names = [n.fully_qualified_name for n in graph_nodes(args.wait)[0]]
    if args.count_nodes:
        print(len(names))
        return 0
    for name in sorted(set(names)):
        print(name)
    if len(set(names)) < len(names):
        print("WARNING: some nodes in the graph share an exact name; that can have unintended side effects.",
              file=sys.stderr)
    return 0


def ros_type(dds_type: str) -> str:
    """'std_msgs::msg::dds_::String_' → 'std_msgs/msg/String'; a service request type → 'pkg/srv/Name'."""
    parts = dds_type.split("::")
    if len(parts) != 4:
        return dds_type
    name = parts[-1].removesuffix("_")
    if parts[1] == "srv":
        name = name.removesuffix("_Request").removesuffix("_Response")
    return f"{parts[0]}/{parts[1]}/{name}"


def endpoint_sections(node, endpoints: dict[bytes, tuple[str, str]]) -> dict[str, list[str]]:
    """`ros2 node info`'s sections for one node: '<name>: <type>' lines, sorted."""
    sections: dict[str, set] = {"Subscribers": set(), "Publishers": set(), "Service Servers": set(),
                                "Service Clients": set()}
    for guids, topic_role, request_role in ((node.readers, "Subscribers", "Service Servers"),
                                            (node.writers, "Publishers", "Service Clients")):
        for guid in guids:
            topic, dds_type = endpoints.get(guid, ("", ""))
            if topic.startswith("rt/"):
                sections[topic_role].add(f"/{topic[3:]}: {ros_type(dds_type)}")
            elif topic.startswith("rq/") and topic.endswith("Request"):
                sections[request_role].add(f"/{topic[3:-len('Request')]}: {ros_type(dds_type)}")
    return {title: sorted(lines) for title, lines in sections.items()}


def node_info(args) -> int:
    _check_wait(args.wait)
    nodes, endpoints = graph_nodes(args.wait, with_endpoints=True)
    wanted = args.node if args.node.startswith("/") else "/" + args.node
    matching = [n for n in nodes if n.fully_qualified_name == wanted]
    if not matching:
        raise unknown_name("node", wanted, {n.fully_qualified_name for n in nodes})
    if len(matching) > 1:
        print(f"There are {len(matching)} nodes named {wanted}; showing the first.")
    print(wanted)
    for title, lines in endpoint_sections(matching[0], endpoints).items():
        print(f"  {title}:")
        for line in lines:
            print(f"    {line}")
    return 0
