"""The `dds` transport between two processes (tests/dds_peer.py), and its loopback-only config.

Everything stays on the loopback interface (discovery 'localhost').
"""
from __future__ import annotations

import hashlib
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Policy, Qos
from cyclonedds.sub import DataReader

from robomatrix import comm
from robomatrix.comm.dds import (
    DdsTransport,
    dds_topic_name,
    discovery_config,
    domain_id_from,
    service_topic_names,
)
from robomatrix.comm.dds.config import DiscoveryConfig
from robomatrix.comm.dds.qos import SERVICE_QOS, to_dds_qos
from robomatrix.comm.dds.services import endpoint_tag, wire_types
from robomatrix.comm.peer import PeerProcess, loopback_env
from robomatrix.errors import UsageError
from robomatrix.msgs import Image, String, Twist, Vector3
from robomatrix.msgs.srv import SetBool, Trigger

PEER = Path(__file__).with_name("dds_peer.py")


@pytest.fixture(scope="module")
def peer():
    proc = PeerProcess([sys.executable, str(PEER), "--lifetime", "90"], what="dds_peer")
    yield proc
    proc.close()


@pytest.fixture
def node(peer):
    ctx = comm.Context(transport="dds", discovery="localhost")
    n = comm.Node("dds_tester", context=ctx)
    executor = comm.Executor([n])
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield n
    ctx.shutdown()
    thread.join(5)


def wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def test_twist_round_trip_between_processes(node):
    received: queue.Queue = queue.Queue()
    node.create_subscription(Twist, "/dds_peer/twist_out", received.put, 10)
    pub = node.create_publisher(Twist, "/dds_peer/twist_in", 10)
    assert wait_for(lambda: pub.get_subscription_count() == 1, 15), "the peer's subscription never matched"
    sent = Twist(linear=Vector3(x=0.5, y=-0.25, z=0.0), angular=Vector3(z=1.25))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # the echo's way back may match a moment later
        pub.publish(sent)
        try:
            got = received.get(timeout=0.2)
            break
        except queue.Empty:
            continue
    else:
        raise AssertionError("no Twist came back from the peer")
    assert got == sent


def test_640x480_image_arrives_intact_both_ways(node):
    pixels = np.random.default_rng(3).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    img = Image(height=480, width=640, encoding="rgb8", step=640 * 3, data=pixels.tobytes())
    img.header.frame_id = "camera"
    expected = f"640x480 rgb8 {hashlib.sha256(pixels.tobytes()).hexdigest()}"
    digests, echoes = [], []
    node.create_subscription(String, "/dds_peer/image_digest", lambda m: digests.append(m.data), 10)
    node.create_subscription(Image, "/dds_peer/image_out", echoes.append, 10)
    pub = node.create_publisher(Image, "/dds_peer/image_in", 10)
    assert wait_for(lambda: pub.get_subscription_count() == 1, 15)
    deadline = time.monotonic() + 15
    while not echoes and time.monotonic() < deadline:
        pub.publish(img)
        wait_for(lambda: echoes, 0.3)
    assert echoes, "no image came back from the peer"
    assert digests[0] == expected
    back = echoes[0]
    assert type(back.data) is bytes and back.data == pixels.tobytes()
    assert (back.width, back.height, back.step, back.header.frame_id) == (640, 480, 1920, "camera")


def test_service_call_across_processes(node):
    client = node.create_client(SetBool, "/dds_peer/set_bool")
    assert client.wait_for_service(timeout_sec=15)
    assert client.call(SetBool.Request(data=True), timeout_sec=5).message == "got True"
    response = client.call(SetBool.Request(data=False), timeout_sec=5)
    assert (response.success, response.message) == (True, "got False")


def test_two_clients_each_get_their_own_replies(node):
    """Replies go to every client of a service; each keeps only those carrying its own id."""
    clients = [node.create_client(SetBool, "/dds_peer/set_bool") for _ in range(2)]
    assert all(c.wait_for_service(timeout_sec=15) for c in clients)
    futures = [(data, c.call_async(SetBool.Request(data=data))) for _ in range(5)
               for c, data in zip(clients, (True, False))]
    for data, future in futures:
        assert future.result(timeout=5).message == f"got {data}"


def test_client_times_out_with_no_server(node):
    client = node.create_client(Trigger, "/dds_peer/nobody_serves_this")
    assert not client.service_is_ready()
    start = time.monotonic()
    with pytest.raises(comm.ServiceTimeout, match="nobody_serves_this"):
        client.call(Trigger.Request(), timeout_sec=0.3)
    assert time.monotonic() - start < 3


def test_ros2_names_on_the_wire():
    assert dds_topic_name("/camera/color/image_raw") == "rt/camera/color/image_raw"
    assert service_topic_names("/robot/reset") == ("rq/robot/resetRequest", "rr/robot/resetReply")
    assert Image.__idl_typename__ == "sensor_msgs::msg::dds_::Image_"


def test_generated_config_is_loopback_only():
    xml = discovery_config(env={}).to_xml()
    assert '<NetworkInterface address="127.0.0.1"/>' in xml
    assert "<AllowMulticast>false</AllowMulticast>" in xml
    assert '<Peers><Peer address="127.0.0.1"/></Peers>' in xml and "<ParticipantIndex>auto" in xml
    assert xml.count("<Peer ") == 1


def test_cyclone_selects_only_the_loopback_interface(tmp_path):
    """Cyclone itself, given our config, picks `lo` and nothing else (read from its trace)."""
    trace = tmp_path / "cyclone.log"
    tracing = (f'<CycloneDDS><Domain id="any"><Tracing><Verbosity>config</Verbosity>'
               f"<OutputFile>{trace}</OutputFile></Tracing></Domain></CycloneDDS>")
    script = ("import os; from robomatrix.comm.dds.config import DiscoveryConfig; "
              "os.environ['CYCLONEDDS_URI'] = DiscoveryConfig().to_xml() + ',' + os.environ['TRACING']; "
              "from cyclonedds.domain import DomainParticipant; DomainParticipant(0)")
    env = loopback_env() | {"TRACING": tracing}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=30)
    selected = [line.split("selected interfaces:")[1] for line in trace.read_text().splitlines()
                if "selected interfaces:" in line]
    assert selected, "Cyclone's trace names no selected interface"
    assert [re.findall(r"(\S+) \(index", line) for line in selected] == [["lo"]] * len(selected)
    assert "AllowMulticast/#text: false" in trace.read_text()


def test_lan_discovery_is_opt_in_with_peers_and_interface():
    cfg = discovery_config(env={"ROBOMATRIX_DISCOVERY": "lan", "ROBOMATRIX_DDS_PEERS": "robot.local, 10.0.0.7",
                                "ROBOMATRIX_DDS_INTERFACE": "eth0"})
    assert cfg == DiscoveryConfig(mode="lan", peers=("robot.local", "10.0.0.7"), interface="eth0")
    xml = cfg.to_xml()
    assert '<Peer address="robot.local"/>' in xml and '<NetworkInterface name="eth0"/>' in xml
    assert "AllowMulticast" not in xml and "127.0.0.1" not in xml
    assert discovery_config("localhost", env={"ROBOMATRIX_DISCOVERY": "lan"}).mode == "localhost"
    assert discovery_config(env={"ROBOMATRIX_DDS_PEERS": "x"}).peers == ()  # peers alone never enable LAN


def test_bad_discovery_and_domain_are_refused_clearly():
    with pytest.raises(UsageError, match="Unknown discovery mode 'lam'. Did you mean 'lan'"):
        discovery_config("lam", env={})
    with pytest.raises(UsageError, match="ROS_DOMAIN_ID must be an integer"):
        domain_id_from(None, env={"ROS_DOMAIN_ID": "seven"})
    with pytest.raises(UsageError, match="0..232, got 300"):
        DdsTransport(domain_id=300)
    assert domain_id_from(None, env={"ROS_DOMAIN_ID": "12"}) == 12 and domain_id_from(None, env={}) == 0


def test_same_process_pubsub_and_type_clash():
    transport = DdsTransport(discovery="localhost")
    try:
        got: queue.Queue = queue.Queue()
        transport.create_subscription("/local/chatter", String, comm.QOS_DEFAULT, got.put)
        pub = transport.create_publisher("/local/chatter", String, comm.QOS_DEFAULT)
        pub.publish(String(data="hello"))
        assert got.get(timeout=5) == String(data="hello")
        with pytest.raises(TypeError, match="carries String, got Twist"):
            pub.publish(Twist())
        with pytest.raises(TypeError, match="already carries String"):
            transport.create_publisher("/local/chatter", Twist, comm.QOS_DEFAULT)
    finally:
        transport.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        transport.create_publisher("/local/other", String, comm.QOS_DEFAULT)


def test_user_cyclonedds_uri_is_respected_and_logged():
    uri = ('<CycloneDDS><Domain id="any"><General><Interfaces><NetworkInterface address="127.0.0.1"/>'
           "</Interfaces><AllowMulticast>false</AllowMulticast></General></Domain></CycloneDDS>")
    script = ("from robomatrix.comm.dds import DdsTransport; t = DdsTransport(); "
              "print('SOURCE', t.config_source); t.shutdown()")
    env = loopback_env() | {"CYCLONEDDS_URI": uri}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "SOURCE CYCLONEDDS_URI" in done.stdout
    assert "using the Cyclone DDS configuration in CYCLONEDDS_URI" in done.stdout + done.stderr


def _service_endpoint(transport, name: str, topic: str, kind: str, tag: bytes | None = None):
    """One hand-built DDS endpoint (`kind` 'writer' or 'reader') on a SetBool service's `topic`
    ('request' or 'reply'), with USER_DATA `tag`."""
    wire = wire_types(SetBool)[topic == "reply"]
    dds_topic = service_topic_names(name)[topic == "reply"]
    qos = to_dds_qos(SERVICE_QOS) + (Qos(Policy.Userdata(tag)) if tag else Qos())
    make = {"writer": DataWriter, "reader": DataReader}[kind]
    return make(transport.participant, transport._topic(dds_topic, wire.cls), qos=qos)


@pytest.mark.parametrize("tag", [b"clientid=late-client;", None], ids=["tagged", "foreign"])
def test_service_holds_a_reply_until_the_requesters_reply_reader_matches(tag):
    """A client whose reply reader the service has not matched yet still gets its reply: the service
    waits for the reader carrying the requester's `clientid` (a foreign, untagged client: any
    reader of its participant), not for just any reader, since a reply written earlier is lost."""
    server, client = DdsTransport(discovery="localhost"), DdsTransport(discovery="localhost")
    name = "/late/set_bool"
    try:
        def answer(request, reply):  # as an executor does: off the reader thread
            response = SetBool.Response(success=True, message=f"got {request.data}")
            threading.Thread(target=reply, args=(response,), daemon=True).start()

        server.create_service(name, SetBool, answer)
        writer = _service_endpoint(client, name, "request", "writer", tag)
        if tag:  # another client of the same participant, matched long before
            decoy = _service_endpoint(client, name, "reply", "reader", b"clientid=someone-else;")
            assert wait_for(lambda: decoy.get_subscription_matched_status().current_count == 1, 15)
        assert wait_for(lambda: writer.get_publication_matched_status().current_count == 1, 15)
        request_wire, response_wire = wire_types(SetBool)
        writer.write(request_wire.wrap(7, 1, SetBool.Request(data=True)))
        time.sleep(0.5)  # the service has the request and is holding the reply
        reader = _service_endpoint(client, name, "reply", "reader", tag)
        replies = []
        assert wait_for(lambda: replies.extend(reader.take(10)) or replies, 10), "the reply was lost"
        guid, seq, response = response_wire.unwrap(replies[0])
        assert (guid, seq, response.message) == (7, 1, "got True")
    finally:
        client.shutdown()
        server.shutdown()


def test_client_is_ready_only_with_both_endpoints_of_one_service():
    """A request reader of one service and a reply writer of another are not a service."""
    host, user = DdsTransport(discovery="localhost"), DdsTransport(discovery="localhost")
    name = "/pair/set_bool"
    try:
        client = user.create_client(name, SetBool)
        held = [_service_endpoint(host, name, "request", "reader", b"serviceid=a;"),
                _service_endpoint(host, name, "reply", "writer", b"serviceid=b;")]
        assert wait_for(lambda: client.reader.get_subscription_matched_status().current_count == 1
                        and client.writer.get_publication_matched_status().current_count == 1, 15)
        assert not client.service_is_ready()
        held.append(_service_endpoint(host, name, "reply", "writer", b"serviceid=a;"))
        assert wait_for(client.service_is_ready, 15)
    finally:
        user.shutdown()
        host.shutdown()


def test_endpoint_tags_are_read_from_user_data():
    assert endpoint_tag(Qos(Policy.Userdata(b"clientid=01.0f.aa;")), "clientid") == "01.0f.aa"
    assert endpoint_tag(Qos(Policy.Userdata(b"enclave=/;serviceid= 9 ;")), "serviceid") == "9"
    assert endpoint_tag(Qos(Policy.Userdata(b"enclave=/;")), "clientid") is None
    assert endpoint_tag(Qos(), "clientid") is None and endpoint_tag(None, "clientid") is None
