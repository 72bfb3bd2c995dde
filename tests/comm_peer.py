"""The other side of the comm contract tests (`tests/test_comm_contract.py`).

Sets up roles on a node; the tests run it in-process for `inproc` and as a separate
process for every other transport:

    python tests/comm_peer.py --transport dds --role echo,service,action,publisher
    python tests/comm_peer.py --transport dds --node talker=echo --node /robot/server=service

Roles
  echo       /peer/in (String) → republished unchanged on /peer/out (reliable, depth 1000)
  service    /peer/trigger (Trigger: success, message 'pong from <node>'),
             /peer/set_bool (SetBool: echoes data into message)
  action     /peer/count: goal {"n", "period_s"}; feedback {"i"} each step; result {"count"};
             honours cancel; rejects a goal while one runs (the default policy)
  publisher  /peer/latched: one latched String 'latched-hello' at start

Prints READY on stdout when set up; exits when stdin closes, on SIGTERM/SIGINT, or after
--lifetime seconds.
"""
from __future__ import annotations

import argparse
import sys

from robomatrix import comm
from robomatrix.comm.peer import serve
from robomatrix.msgs import String
from robomatrix.msgs.srv import SetBool, Trigger

ROLES = ("echo", "service", "action", "publisher")
RELIABLE_1000 = comm.QoSProfile(depth=1000)


def _count(goal_handle: comm.ServerGoalHandle) -> dict:
    n, period_s = int(goal_handle.goal.get("n", 1)), float(goal_handle.goal.get("period_s", 0.01))
    done = 0
    for i in range(n):
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
            return {"count": done}
        goal_handle.publish_feedback({"i": i})
        done += 1
        goal_handle.wait_for_cancel(period_s)
    goal_handle.succeed()
    return {"count": done}


def setup_roles(node: comm.Node, roles) -> list:
    """Create each role's endpoints on `node`; returns them (keep a reference)."""
    keep = []
    for role in roles:
        if role == "echo":
            out = node.create_publisher(String, "/peer/out", RELIABLE_1000)
            keep += [out, node.create_subscription(String, "/peer/in", out.publish, RELIABLE_1000)]
        elif role == "service":
            def trigger(request, response):
                response.success, response.message = True, f"pong from {node.get_name()}"
                return response

            def set_bool(request, response):
                response.success, response.message = True, f"data={request.data}"
                return response

            keep += [node.create_service(Trigger, "/peer/trigger", trigger),
                     node.create_service(SetBool, "/peer/set_bool", set_bool)]
        elif role == "action":
            keep.append(comm.ActionServer(node, "/peer/count", _count))
        elif role == "publisher":
            latched = node.create_publisher(String, "/peer/latched", comm.QOS_LATCHED)
            latched.publish(String(data="latched-hello"))
            keep.append(latched)
        else:
            raise SystemExit(f"unknown role {role!r}; valid: {', '.join(ROLES)}")
    return keep


def parse_node_spec(spec: str) -> tuple[str, str, tuple[str, ...]]:
    """'/robot/server=service,echo' → ('/robot', 'server', ('service', 'echo'))."""
    full, _, roles = spec.partition("=")
    namespace, _, name = full.rpartition("/")
    return namespace or "/", name, tuple(r for r in roles.split(",") if r)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transport", default="inproc")
    ap.add_argument("--role", default=",".join(ROLES), help="comma-separated roles, or 'all'")
    ap.add_argument("--name", default="comm_peer")
    ap.add_argument("--node", action="append", default=[], metavar="[/NS/]NAME=ROLE,...",
                    help="a node and its roles (repeatable); replaces --name/--role")
    ap.add_argument("--lifetime", type=float, default=120.0, help="exit after this many seconds")
    args = ap.parse_args(argv)
    roles = ROLES if args.role == "all" else tuple(r for r in args.role.split(",") if r)
    specs = [parse_node_spec(s) for s in args.node] or [("/", args.name, roles)]

    ctx = comm.Context(transport=args.transport)
    nodes, keep = [], []
    for namespace, name, node_roles in specs:
        nodes.append(comm.Node(name, namespace, context=ctx))
        keep += setup_roles(nodes[-1], node_roles)  # endpoints live as long as the node
    return serve(ctx, nodes, args.lifetime)


if __name__ == "__main__":
    sys.exit(main())
