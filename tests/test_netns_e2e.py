"""Across machines, for real: two network namespaces made by this test (a veth pair, 10.x addresses
that exist only inside them) play a robot computer and a GPU server, as the README's deployment
section describes:

  robot  namespace: `robomatrix sim serve --profile sim` (the robot and its driver) and
                    `robomatrix launch launch/real.launch.yaml profile:=sim with_stack:=false`
                    (hardware_node, backend ros2)
  server namespace: `robomatrix launch launch/real.launch.yaml with_hardware:=false`
                    (perception, skill server, executive) and this test's client, which sends a task

DDS runs with ROBOMATRIX_DISCOVERY=peers: unicast discovery to the two veth addresses only,
multicast off, the veth interface only. The task completes across the namespaces. Skipped (with
the reason) where namespaces cannot be made: not root, no `ip`, or no permission."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.dds, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_S = 90.0
TASK_TIMEOUT_S = 150.0


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


@pytest.fixture
def two_hosts():
    """Two namespaces joined by a veth pair; yields {role: (netns, interface, address)}."""
    if shutil.which("ip") is None:
        pytest.skip("needs the `ip` command (iproute2) to create network namespaces")
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces (ip netns add)")
    tag = f"{os.getpid() % 100000}"
    octet = os.getpid() % 250 + 1
    hosts = {"robot": (f"rmx{tag}r", f"rmxr{tag}", f"10.213.{octet}.1"),
             "server": (f"rmx{tag}s", f"rmxs{tag}", f"10.213.{octet}.2")}
    created = []
    try:
        for netns, _, _ in hosts.values():
            out = _ip("netns", "add", netns, check=False)
            if out.returncode != 0:
                pytest.skip(f"cannot create network namespaces here: {out.stderr.strip()}")
            created.append(netns)
        (rns, rif, _), (sns, sif, _) = hosts["robot"], hosts["server"]
        try:
            _ip("link", "add", rif, "type", "veth", "peer", "name", sif)
            _ip("link", "set", rif, "netns", rns)
            _ip("link", "set", sif, "netns", sns)
            for netns, iface, addr in hosts.values():
                _ip("-n", netns, "addr", "add", f"{addr}/30", "dev", iface)
                _ip("-n", netns, "link", "set", iface, "up")
                _ip("-n", netns, "link", "set", "lo", "up")
        except subprocess.CalledProcessError as exc:  # e.g. no veth support in this kernel or container
            pytest.skip(f"cannot join the namespaces with a veth pair here: {' '.join(exc.cmd)}: {exc.stderr.strip()}")
        yield hosts
    finally:
        for netns in created:  # deleting a namespace deletes its end of the veth, and so the pair
            _ip("netns", "del", netns, check=False)


class Procs:
    """Processes started inside namespaces; their output is kept for failure messages."""

    def __init__(self):
        self.procs: list[tuple[str, subprocess.Popen, list[str]]] = []

    def start(self, label: str, netns: str, cmd: list[str], env: dict) -> subprocess.Popen:
        proc = subprocess.Popen(["ip", "netns", "exec", netns, *cmd], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        log: list[str] = []
        threading.Thread(target=lambda: log.extend(proc.stdout), daemon=True).start()
        self.procs.append((label, proc, log))
        return proc

    def logs(self, lines: int = 25) -> str:
        return "\n".join(f"--- {label} (exit {p.poll()}):\n" + "".join(log[-lines:]) for label, p, log in self.procs)

    def stop_all(self) -> None:
        for _, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
        for _, proc, _ in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def dds_env(hosts: dict, role: str) -> dict:
    _, iface, _ = hosts[role]
    return dict(os.environ, PYTHONUNBUFFERED="1", ROBOMATRIX_DISCOVERY="peers", ROBOMATRIX_DDS_INTERFACE=iface,
                ROBOMATRIX_DDS_PEERS=",".join(addr for _, _, addr in hosts.values()))


def test_a_task_completes_with_the_robot_and_the_server_on_two_hosts(two_hosts):
    procs = Procs()
    robot_ns, server_ns = two_hosts["robot"][0], two_hosts["server"][0]
    try:
        renv, senv = dds_env(two_hosts, "robot"), dds_env(two_hosts, "server")
        procs.start("robot: sim serve", robot_ns, [str(BIN / "robomatrix"), "sim", "serve", "--profile", "sim",
                                                   "--scene", "office", "--seed", "1"], renv)
        procs.start("robot: hardware_node", robot_ns, [str(BIN / "robomatrix"), "launch",
                                                       str(ROOT / "launch/real.launch.yaml"), "profile:=sim",
                                                       "with_stack:=false"], renv)
        procs.start("server: stack", server_ns, [str(BIN / "robomatrix"), "launch",
                                                 str(ROOT / "launch/real.launch.yaml"), "with_hardware:=false"], senv)
        client = subprocess.run(
            ["ip", "netns", "exec", server_ns, sys.executable, "-c",
             "import sys; sys.path.insert(0, sys.argv[1]); import test_netns_e2e as t; t.client(sys.argv[2])",
             str(Path(__file__).parent), "move to the green can"],
            env=senv, capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S + TASK_TIMEOUT_S + 30)
        lines = [line for line in client.stdout.splitlines() if line.startswith("{")]
        assert client.returncode == 0 and lines, f"client failed:\n{client.stdout}\n{client.stderr}\n{procs.logs()}"
        result = json.loads(lines[-1])
        assert result["state"] == "succeeded", f"{result}\n{procs.logs()}"
        assert result["moved_m"] > 0.1, result
        print(f"task across two namespaces: {result['took_s']:.1f} s")
    finally:
        procs.stop_all()


def client(instruction: str) -> None:
    """Runs in the server namespace: waits for the graph, sends `instruction`, prints the outcome
    as one JSON line (state, message, how far /odom moved, seconds)."""
    import numpy as np

    from robomatrix import comm
    from robomatrix.messages import ExecutiveStatus, Task
    from robomatrix.msgs import Odometry
    from robomatrix.skills.server_node import SKILL_ACTION

    ctx = comm.Context(transport="dds")
    node = comm.Node("netns_client", context=ctx)
    statuses: list[ExecutiveStatus] = []
    odom: list[Odometry] = []
    latched = comm.QoSProfile(depth=100, durability=comm.QOS_LATCHED.durability)
    node.create_json_subscription(ExecutiveStatus, "/robomatrix/status", statuses.append, latched)
    node.create_subscription(Odometry, "/odom", odom.append, 50)
    tasks = node.create_json_publisher(Task, "/robomatrix/task", 10)
    skills = comm.ActionClient(node, SKILL_ACTION)
    executor = comm.Executor([node])

    def spin_until(predicate, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
            if predicate():
                return True
        return False

    try:
        if not spin_until(lambda: statuses and odom and skills.server_is_ready(), STARTUP_TIMEOUT_S):
            print(json.dumps({"state": "not up", "message": f"status={bool(statuses)} odom={bool(odom)} "
                              f"skill server={skills.server_is_ready()}", "moved_m": 0.0, "took_s": 0.0}))
            return
        start = odom[-1].pose.pose.position
        task = Task(instruction, source="netns test")
        mine = lambda: [s for s in statuses if s.task_id == task.id]  # noqa: E731
        t0 = time.monotonic()
        while not mine() and time.monotonic() - t0 < 20:
            tasks.publish(task)
            spin_until(mine, 2.0)
        spin_until(lambda: any(s.state in ("succeeded", "failed", "canceled") for s in mine()), TASK_TIMEOUT_S)
        final = next((s for s in mine() if s.state in ("succeeded", "failed", "canceled")), None)
        end = odom[-1].pose.pose.position
        print(json.dumps({"state": final.state if final else "no outcome", "message": final.message if final else "",
                          "moved_m": float(np.hypot(end.x - start.x, end.y - start.y)),
                          "took_s": time.monotonic() - t0}))
    finally:
        executor.shutdown()
        node.destroy_node()
        ctx.shutdown()


# ------------------------------------------------------------------ the discovery settings themselves

def test_peers_discovery_is_unicast_to_the_listed_hosts_on_one_interface():
    from robomatrix.comm.dds.config import DiscoveryConfig, discovery_config

    cfg = discovery_config(env={"ROBOMATRIX_DISCOVERY": "peers", "ROBOMATRIX_DDS_PEERS": "10.0.0.1, robot.lan",
                                "ROBOMATRIX_DDS_INTERFACE": "eth0"})
    assert cfg == DiscoveryConfig(mode="peers", peers=("10.0.0.1", "robot.lan"), interface="eth0")
    xml = cfg.to_xml()
    assert '<NetworkInterface name="eth0"/>' in xml and "<AllowMulticast>false</AllowMulticast>" in xml
    assert '<Peer address="10.0.0.1"/><Peer address="robot.lan"/>' in xml
    by_address = discovery_config(env={"ROBOMATRIX_DISCOVERY": "peers", "ROBOMATRIX_DDS_PEERS": "10.0.0.1",
                                       "ROBOMATRIX_DDS_INTERFACE": "10.0.0.1"}).to_xml()
    assert '<NetworkInterface address="10.0.0.1"/>' in by_address


@pytest.mark.parametrize("env, message", [
    ({}, "ROBOMATRIX_DISCOVERY=peers needs ROBOMATRIX_DDS_PEERS"),
    ({"ROBOMATRIX_DDS_PEERS": "10.0.0.1"}, "interface=(none)"),
    ({"ROBOMATRIX_DDS_PEERS": "10.0.0.1,not a host", "ROBOMATRIX_DDS_INTERFACE": "eth0"},
     "DDS peer 'not a host' (ROBOMATRIX_DDS_PEERS) is not an IP address or host name"),
    ({"ROBOMATRIX_DDS_PEERS": "10.0.0.1", "ROBOMATRIX_DDS_INTERFACE": "eth0; rm"},
     "DDS interface 'eth0; rm' (ROBOMATRIX_DDS_INTERFACE) is not an interface name"),
])
def test_peers_discovery_settings_are_validated(env, message):
    from robomatrix.comm.dds.config import discovery_config
    from robomatrix.errors import UsageError

    with pytest.raises(UsageError) as err:
        discovery_config(env={"ROBOMATRIX_DISCOVERY": "peers", **env})
    assert message in str(err.value)
