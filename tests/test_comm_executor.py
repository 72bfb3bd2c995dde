"""Executors, timers on simulated time, the logger, init/shutdown."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from robomatrix import comm
from robomatrix.errors import UsageError
from robomatrix.msgs import Float64, String


@pytest.fixture
def ctx():
    with comm.Context() as c:
        yield c


def test_simclock_timers_fire_when_sim_time_passes_their_deadline(ctx):
    clock = comm.SimClock()
    node = comm.Node("sim_node", context=ctx, clock=clock)
    fired = []
    node.create_timer(0.1, lambda: fired.append(round(clock.now(), 3)))
    executor = comm.Executor([node])
    clock.set_time(0.05)
    assert not executor.spin_once(0)
    clock.set_time(0.1)
    assert executor.spin_once(0) and fired == [0.1]
    clock.set_time(0.35)  # two periods missed: fires once, keeps its phase
    executor.spin_once(0)
    clock.set_time(0.39)
    executor.spin_once(0)
    clock.set_time(0.4)
    executor.spin_once(0)
    assert fired == [0.1, 0.35, 0.4]
    assert node.get_clock().now_msg().nanosec == 400_000_000


def test_lock_step_stepping_fires_timers_at_sim_rate_not_wall_rate(ctx):
    clock = comm.SimClock()
    node = comm.Node("ctrl", context=ctx, clock=clock)
    ticks = []
    node.create_timer(0.1, lambda: ticks.append(clock.now()))
    for _ in range(1000):  # 10 simulated seconds, stepped as fast as the CPU allows
        clock.advance(0.01)
        comm.spin_once(node, 0)
    assert len(ticks) == 100
    assert ticks[0] == pytest.approx(0.1) and ticks[-1] == pytest.approx(10.0)


def test_set_time_from_another_thread_wakes_a_spinning_executor(ctx):
    clock = comm.SimClock()
    node = comm.Node("sim_node", context=ctx, clock=clock)
    fired = threading.Event()
    node.create_timer(1.0, fired.set)
    spinner = threading.Thread(target=comm.spin, args=(node,))
    spinner.start()
    try:
        time.sleep(0.1)
        assert not fired.is_set()
        clock.set_time(1.0)
        assert fired.wait(0.3)
    finally:
        comm.shutdown(ctx)
        spinner.join(2)
    assert not spinner.is_alive()


def test_use_sim_time_follows_clock_topic(ctx):
    from robomatrix.msgs import Clock, Time

    node = comm.Node("n", context=ctx, parameter_overrides={"use_sim_time": True})
    pub = node.create_publisher(Clock, "/clock", 10)
    pub.publish(Clock(clock=Time.from_sec(12.5)))
    assert node.get_clock().now() == 12.5


def test_callbacks_of_one_node_never_run_concurrently(ctx):
    node = comm.Node("busy", context=ctx)
    active, overlaps, count = [0], [], [0]
    lock = threading.Lock()

    def callback(_msg):
        with lock:
            active[0] += 1
            overlaps.append(active[0])
        time.sleep(0.0005)
        with lock:
            active[0] -= 1
            count[0] += 1

    for topic in ("a", "b"):
        node.create_subscription(Float64, topic, callback, 1000)
    node.create_timer(0.001, lambda: callback(None))
    pubs = [node.create_publisher(Float64, t, 1000) for t in ("a", "b")]
    publishers = [threading.Thread(target=lambda p=p: [p.publish(Float64(data=i)) for i in range(200)])
                  for p in pubs]
    for t in publishers:
        t.start()
    comm.spin_until(node, lambda: count[0] >= 400, 10)
    for t in publishers:
        t.join()
    assert count[0] >= 400 and max(overlaps) == 1


def test_messages_across_topics_run_in_arrival_order(ctx):
    node = comm.Node("n", context=ctx)
    order = []
    node.create_subscription(String, "x", lambda m: order.append(m.data), 10)
    node.create_subscription(String, "y", lambda m: order.append(m.data), 10)
    px, py = node.create_publisher(String, "x", 10), node.create_publisher(String, "y", 10)
    for i in range(5):
        (px if i % 2 else py).publish(String(data=str(i)))
    comm.spin_once(node, 0.1)
    assert order == ["0", "1", "2", "3", "4"]


def test_spin_once_inside_a_callback_is_refused(ctx):
    node = comm.Node("n", context=ctx)
    errors = []

    def nested():
        try:
            comm.spin_once(node, 0)
        except RuntimeError as exc:
            errors.append(str(exc))

    node.create_timer(0.001, nested)
    comm.spin_until(node, lambda: errors, 2)
    assert "inside a callback" in errors[0]


def test_logger_format_and_levels(capsys):
    with comm.Context() as c:
        quiet = comm.Node("quiet_node", context=c)
        loud = comm.Node("loud_node", context=c, cli_args=["--ros-args", "--log-level", "debug"])
        quiet.get_logger().debug("hidden")
        quiet.get_logger().info("hello")
        quiet.get_logger().warning("careful", once=True)
        quiet.get_logger().warning("careful", once=True)
        loud.get_logger().debug("details")
        loud.get_logger().error("broken")
    assert capsys.readouterr().err.splitlines() == [
        "[INFO] [quiet_node]: hello", "[WARN] [quiet_node]: careful",
        "[DEBUG] [loud_node]: details", "[ERROR] [loud_node]: broken"]


def test_init_picks_transport_from_env_and_shutdown_closes_everything(monkeypatch):
    monkeypatch.setenv("ROBOMATRIX_TRANSPORT", "inproc")
    ctx = comm.init()
    try:
        assert comm.init() is ctx and comm.default_context() is ctx
        node = comm.Node("default_ctx_node")
        assert node.context is ctx
    finally:
        comm.shutdown()
    assert not ctx.ok() and not comm.ok()
    monkeypatch.setenv("ROBOMATRIX_TRANSPORT", "carrier_pigeon")
    with pytest.raises(UsageError, match="Unknown transport 'carrier_pigeon'"):
        comm.init()


def test_sigint_ends_spin_cleanly_and_the_process_exits():
    script = textwrap.dedent("""
        import threading
        from robomatrix import comm
        from robomatrix.comm.action import ActionServer
        node = comm.Node("sigint_node")
        ActionServer(node, "work", lambda h: h.wait_for_cancel(60) and {})
        ticks = []
        def tick():  # printed from inside spin's loop, which ends on the KeyboardInterrupt SIGINT raises
            if not ticks:
                print("SPINNING", flush=True)
            ticks.append(1)
        node.create_timer(0.05, tick)
        comm.spin(node)
        print("SPIN RETURNED", flush=True)
        comm.shutdown()
        print("THREADS", [t.name for t in threading.enumerate()], flush=True)
    """)
    # the child gets SIGINT's default handling even when the suite runs from a background shell (which
    # starts its jobs with SIGINT ignored): this test is about spin, not about inherited dispositions
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=dict(os.environ, ROBOMATRIX_TRANSPORT="inproc"),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout.readline().strip() == "SPINNING"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, out
    assert "SPIN RETURNED" in out and "THREADS ['MainThread']" in out
