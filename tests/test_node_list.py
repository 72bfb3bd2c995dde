"""ROS 2 graph visibility: nodes announced on `ros_discovery_info`, read by `robomatrix node list|info`.

Another process (tests/comm_peer.py) holds two nodes on one DDS participant; everything stays on
loopback (discovery 'localhost').
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from robomatrix import comm
from robomatrix.cli.main import main
from robomatrix.comm.peer import PeerProcess
from robomatrix.msgs import String
from robomatrix.msgs.srv import Trigger

PEER = Path(__file__).with_name("comm_peer.py")


@pytest.fixture(scope="module")
def peer():
    proc = PeerProcess([sys.executable, str(PEER), "--transport", "dds", "--lifetime", "60",
                        "--node", "talker=echo", "--node", "/robot/server=service"], what="comm_peer")
    yield proc
    proc.close()


def test_node_list_shows_both_nodes_of_another_process(peer, capsys):
    assert main(["node", "list", "--wait", "1.5"]) == 0
    names = capsys.readouterr().out.split()
    assert "/talker" in names and "/robot/server" in names
    assert main(["node", "list", "-c", "--wait", "1.5"]) == 0
    assert int(capsys.readouterr().out) == len(names)


def test_node_info_matches_gids_to_the_endpoints_dds_discovered(peer, capsys):
    """The GIDs in ros_discovery_info are the keys DDS discovery reports for those endpoints."""
    assert main(["node", "info", "/talker", "--wait", "1.5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("/talker\n")
    assert "  Subscribers:\n    /peer/in: std_msgs/msg/String\n" in out
    assert "  Publishers:\n    /peer/out: std_msgs/msg/String\n" in out
    assert main(["node", "info", "robot/server", "--wait", "1.5"]) == 0
    out = capsys.readouterr().out
    assert ("  Service Servers:\n    /peer/set_bool: std_srvs/srv/SetBool\n"
            "    /peer/trigger: std_srvs/srv/Trigger\n") in out
    assert "  Publishers:\n  Service Servers" in out  # a service's reply writer is not a publisher


def test_unknown_node_is_a_usage_error_with_a_hint(peer, capsys):
    assert main(["node", "info", "/talkr", "--wait", "1.5"]) == 2
    assert "Unknown node '/talkr'. Did you mean '/talker'?" in capsys.readouterr().err
    assert main(["node", "list", "--wait", "0"]) == 2


def test_announcement_follows_endpoints_and_nodes_as_they_come_and_go():
    announcing = comm.Context(transport="dds")
    watching = comm.Context(transport="dds")
    reader = watching.transport.graph_reader()
    try:
        node = comm.Node("graph_probe", "/probe", context=announcing)
        idle = comm.Node("idle", context=announcing)
        pub = node.create_publisher(String, "/probe/chatter", 10)
        client = node.create_client(Trigger, "/probe/reset")

        def seen() -> dict:  # this test's participant only (the module's peer may be running)
            return {n.fully_qualified_name: n for n in reader.wait(0.5)
                    if n.participant == announcing.transport.graph.guid}

        probe = seen()["/probe/graph_probe"]
        assert pub._endpoint.writer.guid.bytes in probe.writers
        assert client._endpoint.writer.guid.bytes in probe.writers  # the request writer
        assert probe.readers == [client._endpoint.reader.guid.bytes]  # the reply reader
        assert seen()["/idle"].readers == seen()["/idle"].writers == []
        pub.destroy()
        assert seen()["/probe/graph_probe"].writers == [client._endpoint.writer.guid.bytes]
        idle.destroy_node()
        assert "/idle" not in seen()
        announcing.shutdown()
        assert seen() == {}  # the participant left: its nodes with it
    finally:
        reader.close()
        announcing.shutdown()
        watching.shutdown()
