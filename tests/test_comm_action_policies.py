"""Action server policies and failure paths (inproc; the transport-level contract is in test_comm_contract)."""
import threading
import time

import pytest

from robomatrix import comm
from robomatrix.errors import UsageError


@pytest.fixture
def pair():
    with comm.Context() as ctx:
        server_node, client_node = comm.Node("server", context=ctx), comm.Node("client", context=ctx)
        spinner = threading.Thread(target=comm.Executor([server_node]).spin, daemon=True)
        spinner.start()
        yield server_node, client_node
    spinner.join(5)


def wait_executing(*handles, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while not all(h.status == "executing" for h in handles) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [h.status for h in handles] == ["executing"] * len(handles)


def _wait_or_cancel(handle):
    canceled = handle.wait_for_cancel(10)
    return {"tag": handle.goal["tag"], "canceled": canceled}


def test_preempt_policy_cancels_the_running_goal_then_runs_the_new_one(pair):
    server_node, client_node = pair
    comm.ActionServer(server_node, "work", _wait_or_cancel, goal_policy="preempt")
    client = comm.ActionClient(client_node, "work")
    assert client.wait_for_server(5)
    first = client.send_goal({"tag": "first"})
    wait_executing(first)
    second = client.send_goal({"tag": "second"})
    assert first.result(5) == {"tag": "first", "canceled": True} and first.status == "canceled"
    wait_executing(second)
    second.cancel()
    assert second.result(5)["tag"] == "second" and second.status == "canceled"


def test_parallel_policy_runs_goals_side_by_side(pair):
    server_node, client_node = pair
    comm.ActionServer(server_node, "work", _wait_or_cancel, goal_policy="parallel")
    client = comm.ActionClient(client_node, "work")
    assert client.wait_for_server(5)
    handles = [client.send_goal({"tag": str(i)}) for i in range(3)]
    wait_executing(*handles)  # all three run at once
    for h in handles:
        h.cancel()
    assert sorted(h.result(5)["tag"] for h in handles) == ["0", "1", "2"]
    assert {h.status for h in handles} == {"canceled"}


def test_goal_callback_rejects_and_exceptions_abort(pair):
    server_node, client_node = pair

    def execute(handle):
        raise ValueError("gripper jammed")

    comm.ActionServer(server_node, "work", execute,
                      goal_callback=lambda goal: (goal.get("ok", False), "missing 'ok'"))
    client = comm.ActionClient(client_node, "work")
    assert client.wait_for_server(5)
    refused = client.send_goal({})
    assert refused.result(5) == {} and refused.status == "rejected" and refused.reason == "missing 'ok'"
    failed = client.send_goal({"ok": True})
    assert failed.result(5) == {} and failed.status == "aborted"
    assert failed.reason == "ValueError: gripper jammed"


def test_done_callbacks_run_on_the_client_executor(pair):
    server_node, client_node = pair
    comm.ActionServer(server_node, "work", lambda h: {"ok": True})
    client = comm.ActionClient(client_node, "work")
    assert client.wait_for_server(5)
    seen = []
    handle = client.send_goal({})
    handle.add_done_callback(lambda h: seen.append((h.status, threading.current_thread().name)))
    handle.result(5)
    assert seen == []  # nothing runs until the client node is spun
    assert comm.spin_until(client_node, lambda: seen, 5)
    assert seen == [("succeeded", threading.current_thread().name)]


def test_bad_goals_and_policies_are_usage_errors(pair):
    server_node, client_node = pair
    with pytest.raises(UsageError, match="Unknown goal policy 'queue'"):
        comm.ActionServer(server_node, "work", _wait_or_cancel, goal_policy="queue")
    client = comm.ActionClient(client_node, "work")
    with pytest.raises(UsageError, match="must be a dict"):
        client.send_goal(["not", "a", "dict"])
    with pytest.raises(UsageError, match="JSON-serialisable"):
        client.send_goal({"x": object()})
