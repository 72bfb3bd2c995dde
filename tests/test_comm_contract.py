"""One contract suite for every transport importable here (`comm.available_transports()`).

The peer (tests/comm_peer.py) runs in this process for `inproc` and in a separate
process for every other transport; DDS stays on loopback (ROBOMATRIX_DISCOVERY=localhost).
"""
from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path

import pytest

from robomatrix import comm
from robomatrix.comm.peer import PeerProcess, loopback_env
from robomatrix.errors import UsageError
from robomatrix.msgs import String
from robomatrix.msgs.srv import SetBool, Trigger

PEER = Path(__file__).with_name("comm_peer.py")
_spec = importlib.util.spec_from_file_location("comm_peer", PEER)
comm_peer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(comm_peer)

TRANSPORTS = comm.available_transports()
BIG = comm.QoSProfile(depth=1000)


class Graph:
    """The test side of one transport: a context, and a peer (thread or process) serving all roles."""

    def __init__(self, transport: str):
        self.transport = transport
        self.ctx = comm.Context(transport=transport)
        self.proc = None
        self._peer_thread = None
        if transport == "inproc":
            self.peer_node = comm.Node("comm_peer", context=self.ctx)
            self._keep = comm_peer.setup_roles(self.peer_node, comm_peer.ROLES)
            self.peer_executor = comm.Executor([self.peer_node])
            self._peer_thread = threading.Thread(target=self.peer_executor.spin, daemon=True)
            self._peer_thread.start()
        else:
            try:
                self.proc = PeerProcess([sys.executable, str(PEER), "--transport", transport, "--role", "all",
                                         "--lifetime", "120"], env=loopback_env(keep_cyclonedds_uri=True),
                                        what=f"peer for {transport}")
            except RuntimeError:
                self.ctx.shutdown()
                raise

    def close(self) -> None:
        if self._peer_thread is not None:
            self.peer_executor.shutdown()
            self._peer_thread.join(5)
        if self.proc is not None:
            self.proc.close()
        self.ctx.shutdown()


@pytest.fixture(scope="module", params=TRANSPORTS)
def graph(request):
    g = Graph(request.param)
    yield g
    g.close()


@pytest.fixture
def node(graph, request):
    n = comm.Node(f"tester_{request.node.name.split('[')[0][5:35]}", context=graph.ctx)
    executor = comm.Executor([n])
    n.test_executor = executor
    yield n
    executor.shutdown()
    n.destroy_node()


def spin_until(node, predicate, timeout_s=10.0) -> bool:
    return node.test_executor.spin_until(predicate, timeout_s)


def wait_for_echo(node, pub, received, tag: str, timeout_s=15.0) -> None:
    """Publish `tag` until the echo peer sends it back: both directions are matched."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pub.publish(String(data=tag))
        if spin_until(node, lambda: tag in received, 0.1):
            return
    raise AssertionError(f"echo peer never answered '{tag}'")


# ----------------------------------------------------------------------------- topics
def test_reliable_pubsub_delivers_1000_messages_in_order(node):
    received = []
    node.create_subscription(String, "/peer/out", lambda m: received.append(m.data), BIG)
    pub = node.create_publisher(String, "/peer/in", BIG)
    wait_for_echo(node, pub, received, "order-warmup")
    for i in range(1000):
        pub.publish(String(data=f"order-{i}"))
    assert spin_until(node, lambda: sum(r.startswith("order-") for r in received) >= 1001, 20)
    got = [r for r in received if r.startswith("order-") and r != "order-warmup"]
    assert got == [f"order-{i}" for i in range(1000)]


def test_keep_last_depth_keeps_only_newest_for_a_slow_subscriber(node):
    arrived = []
    node._create_direct_subscription(String, "/peer/out", lambda m: arrived.append(m.data), BIG)
    received = []
    sub = node.create_subscription(String, "/peer/out", lambda m: received.append(m.data), 5)
    pub = node.create_publisher(String, "/peer/in", BIG)
    wait_for_echo(node, pub, received, "depth-warmup")
    received.clear()
    for i in range(50):  # nobody spins meanwhile: the subscription's queue overflows
        pub.publish(String(data=f"depth-{i}"))
    deadline = time.monotonic() + 10
    while not any(m.data == "depth-49" for _, m in list(sub.pending)) and time.monotonic() < deadline:
        time.sleep(0.01)
    node.test_executor.spin_once(0.5)
    assert "depth-49" in arrived
    assert received == [f"depth-{i}" for i in range(45, 50)]


def test_latched_topic_reaches_late_subscribers_only_if_they_ask(node):
    latched, volatile = [], []
    node.create_subscription(String, "/peer/latched", lambda m: latched.append(m.data), comm.QOS_LATCHED)
    node.create_subscription(String, "/peer/latched", lambda m: volatile.append(m.data), 10)
    assert spin_until(node, lambda: latched == ["latched-hello"], 15)
    spin_until(node, lambda: False, 0.3)
    assert latched == ["latched-hello"] and volatile == []


def test_best_effort_publisher_never_blocks_and_drops_for_slow_subscriber(node):
    received = []
    node.create_subscription(String, "/be/topic", lambda m: received.append(m.data), comm.QOS_SENSOR_DATA)
    pub = node.create_publisher(String, "/be/topic", comm.QOS_SENSOR_DATA)
    payload = "x" * 10_000
    worker = threading.Thread(target=lambda: [pub.publish(String(data=payload)) for _ in range(2000)])
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "best-effort publishing blocked"
    time.sleep(0.3)  # still not spinning: let a transport's delivery thread hand over what it holds
    spin_until(node, lambda: False, 0.3)
    assert len(received) <= comm.QOS_SENSOR_DATA.depth


def test_reliable_subscription_does_not_match_best_effort_publisher(node):
    received = []
    node.create_subscription(String, "/qos/mismatch", lambda m: received.append(m.data), 10)
    pub = node.create_publisher(String, "/qos/mismatch", comm.QOS_SENSOR_DATA)
    spin_until(node, lambda: False, 0.3)
    pub.publish(String(data="lost"))
    spin_until(node, lambda: False, 0.2)
    assert pub.get_subscription_count() == 0 and received == []


# ----------------------------------------------------------------------------- services
def test_service_call_sync_and_async(node):
    trigger = node.create_client(Trigger, "/peer/trigger")
    assert trigger.wait_for_service(timeout_sec=15)
    response = trigger.call(Trigger.Request(), timeout_sec=5)
    assert response.success and response.message == "pong from comm_peer"

    set_bool = node.create_client(SetBool, "/peer/set_bool")
    assert set_bool.wait_for_service(timeout_sec=15)
    done = []
    future = set_bool.call_async(SetBool.Request(data=True))
    future.add_done_callback(lambda f: done.append(f.result().message))
    assert spin_until(node, lambda: done, 5)
    assert done == ["data=True"]


def test_service_call_without_server_times_out_clearly(node):
    client = node.create_client(Trigger, "/peer/nobody_serves_this")
    assert not client.wait_for_service(timeout_sec=0.2)
    with pytest.raises(comm.ServiceTimeout, match=r"'/peer/nobody_serves_this'.*0.3 s.*no server"):
        client.call(Trigger.Request(), timeout_sec=0.3)


# ----------------------------------------------------------------------------- parameters
def test_parameters_overrides_cli_and_type_errors(graph):
    n = comm.Node("param_node", context=graph.ctx, parameter_overrides={"seed": 3, "rate_hz": 10},
                  cli_args=["--ros-args", "-p", "scene:=kitchen", "-p", "later:=7"])
    try:
        assert n.declare_parameter("seed", 0).value == 3
        assert n.declare_parameter("rate_hz", 5.0).value == 10.0  # int accepted for a float
        assert n.declare_parameter("scene", "office").value == "kitchen"
        assert n.declare_parameter("later", 1).value == 7  # override kept until declared
        n.set_parameters({"seed": 4})
        assert n.get_parameter("seed").value == 4
        with pytest.raises(UsageError, match="Parameter 'seed' of node 'param_node' expects int"):
            n.set_parameters({"seed": "abc"})
        with pytest.raises(UsageError, match="Did you mean 'seed'"):
            n.get_parameter("sed")
    finally:
        n.destroy_node()


# ----------------------------------------------------------------------------- actions
@pytest.fixture
def counter(node):
    client = comm.ActionClient(node, "/peer/count")
    assert client.wait_for_server(timeout_sec=15)
    return client


def test_action_feedback_and_result(node, counter):
    feedback = []
    handle = counter.send_goal({"n": 5, "period_s": 0.01}, feedback_callback=lambda f: feedback.append(f["i"]))
    assert spin_until(node, lambda: handle.done() and len(feedback) == 5, 10)
    assert handle.result(0) == {"count": 5}
    assert handle.status == "succeeded" and handle.accepted
    assert feedback == [0, 1, 2, 3, 4]


def test_action_cancel_reaches_running_goal(node, counter):
    feedback = []
    handle = counter.send_goal({"n": 10_000, "period_s": 0.01}, feedback_callback=feedback.append)
    assert spin_until(node, lambda: len(feedback) >= 2, 10)
    handle.cancel()
    result = handle.result(timeout_sec=10)
    assert handle.status == "canceled"
    assert 2 <= result["count"] < 10_000


def test_action_rejects_a_second_goal_while_one_runs(node, counter):
    first = counter.send_goal({"n": 10_000, "period_s": 0.01})
    assert first.wait_for_acceptance(10)
    second = counter.send_goal({"n": 1})
    assert second.result(timeout_sec=10) == {}
    assert second.status == "rejected" and "busy" in second.reason
    first.cancel()
    first.result(timeout_sec=10)
    assert first.status == "canceled"


def test_action_result_timeout_is_clear(node):
    client = comm.ActionClient(node, "/peer/no_such_action")
    handle = client.send_goal({"n": 1})
    with pytest.raises(comm.ActionTimeout, match="no server answered"):
        handle.result(timeout_sec=0.2)


# ----------------------------------------------------------------------------- shutdown
def test_shutdown_stops_spinning_and_leaves_no_threads(graph):
    before = set(threading.enumerate())
    ctx = comm.Context(transport=graph.transport)
    server_node, client_node = comm.Node("sd_server", context=ctx), comm.Node("sd_client", context=ctx)
    comm.ActionServer(server_node, "/sd/count", comm_peer._count)
    server_node.create_timer(0.01, lambda: None)
    spinner = threading.Thread(target=comm.Executor([server_node]).spin)
    spinner.start()
    client = comm.ActionClient(client_node, "/sd/count")
    assert client.wait_for_server(15)
    handle = client.send_goal({"n": 10_000, "period_s": 0.01})
    assert handle.wait_for_acceptance(10)
    ctx.shutdown()
    spinner.join(5)
    assert not spinner.is_alive(), "spin did not return after shutdown"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and [t for t in threading.enumerate() if t not in before]:
        time.sleep(0.05)
    assert [t.name for t in threading.enumerate() if t not in before] == []
    assert not ctx.ok()
    with pytest.raises(RuntimeError):
        comm.Node("too_late", context=ctx)
