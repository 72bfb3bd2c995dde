"""`robomatrix launch` with real child processes: prefixed output, signal forwarding and
escalation, a dying process bringing the launch down, respawn, environment."""
import io
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from robomatrix.launch import LaunchRunner, parse_launch_file

ROBOMATRIX = [sys.executable, "-m", "robomatrix.cli"]

CHILD = textwrap.dedent("""
    import os, signal, sys, time
    name, mode = sys.argv[1], sys.argv[2]
    def stop(sig, frame):
        print(f"{name} got {signal.Signals(sig).name}", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN if mode == "stubborn" else stop)
    print(f"{name} ready transport={os.environ.get('ROBOMATRIX_TRANSPORT')} "
          f"discovery={os.environ.get('ROBOMATRIX_DISCOVERY')} extra={os.environ.get('EXTRA', '-')}", flush=True)
    print(f"{name} says hi on stderr", file=sys.stderr, flush=True)
    if mode.startswith("exit"):
        time.sleep(0.3)
        sys.exit(int(mode[4:]))
    if mode == "count":
        with open(sys.argv[3], "a") as f:
            f.write("run\\n")
        sys.exit(1)
    while True:
        time.sleep(0.02)
""")


@pytest.fixture
def child_script(tmp_path):
    path = tmp_path / "child.py"
    path.write_text(CHILD)
    return path


def launch_file(tmp_path, child_script, entries: str) -> Path:
    path = tmp_path / "test.launch.yaml"
    body = textwrap.dedent(entries).strip().replace("CHILD", f"{sys.executable} {child_script}")
    path.write_text("launch:\n" + textwrap.indent(body, ""))
    return path


def read_until(proc, needle: str, timeout_s: float = 20.0) -> str:
    """Read the launcher's merged output until `needle` shows up."""
    seen = ""
    deadline = time.monotonic() + timeout_s
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"'{needle}' not seen; output so far:\n{seen}"
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536).decode()
            assert chunk or proc.poll() is None, f"launcher exited ({proc.poll()}) before '{needle}':\n{seen}"
            seen += chunk
    return seen


def start_launch(path: Path, *args: str):
    return subprocess.Popen([*ROBOMATRIX, "launch", str(path), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def test_output_is_prefixed_per_process_and_the_child_environment_is_set(tmp_path, child_script, monkeypatch):
    monkeypatch.delenv("ROBOMATRIX_TRANSPORT", raising=False)
    monkeypatch.delenv("ROBOMATRIX_DISCOVERY", raising=False)
    path = launch_file(tmp_path, child_script, """
        - executable: {cmd: "CHILD alpha exit0", name: alpha, env: [{name: EXTRA, value: "x1"}]}
        - executable: {cmd: "CHILD beta exit0", name: beta}
        """)
    out, err = io.StringIO(), io.StringIO()
    result = LaunchRunner(parse_launch_file(path), stdout=out, stderr=err).run()
    assert result.exit_code == 0 and result.died == []
    lines = out.getvalue().splitlines()
    assert "[alpha] alpha ready transport=dds discovery=localhost extra=x1" in lines
    assert "[beta] beta ready transport=dds discovery=localhost extra=-" in lines
    assert "[alpha] alpha says hi on stderr" in err.getvalue().splitlines()
    assert "[launch] 'beta' finished (exit code 0)" in err.getvalue()


def test_a_dying_process_stops_the_others_and_fails_the_launch_naming_it(tmp_path, child_script):
    path = launch_file(tmp_path, child_script, """
        - executable: {cmd: "CHILD steady run", name: steady}
        - executable: {cmd: "CHILD crasher exit3", name: crasher}
        """)
    proc = start_launch(path)
    out, _ = proc.communicate(timeout=30)
    out = out.decode()
    assert proc.returncode == 1, out
    assert "[launch] 'crasher' died unexpectedly: it exited with code 3" in out
    assert "[steady] steady got SIGINT" in out, "the other process was not stopped with SIGINT"
    assert out.strip().splitlines()[-1] == "robomatrix: error: process 'crasher' exited with code 3"
    assert "Traceback" not in out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_to_the_launcher_are_forwarded_as_sigint_to_every_process(tmp_path, child_script, sig):
    path = launch_file(tmp_path, child_script, """
        - executable: {cmd: "CHILD one run", name: one}
        - executable: {cmd: "CHILD two run", name: two}
        """)
    proc = start_launch(path)
    try:
        seen = read_until(proc, "[one] one ready")
        seen += read_until(proc, "[two] two ready") if "[two] two ready" not in seen else ""
        proc.send_signal(sig)  # children run in their own process groups: only forwarding reaches them
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = seen + out.decode()
    assert proc.returncode == 0, out
    assert "[one] one got SIGINT" in out and "[two] two got SIGINT" in out
    assert "Traceback" not in out


def test_a_process_ignoring_sigint_gets_sigterm_after_its_timeout(tmp_path, child_script):
    path = launch_file(tmp_path, child_script, """
        - executable: {cmd: "CHILD stubborn stubborn", name: stubborn, sigterm_timeout: "0.5"}
        """)
    proc = start_launch(path)
    try:
        seen = read_until(proc, "[stubborn] stubborn ready")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    out = seen + out.decode()
    assert "[launch] sending SIGTERM to 'stubborn'" in out and "[stubborn] stubborn got SIGTERM" in out, out
    assert 0.4 < elapsed < 10, elapsed


def test_respawn_restarts_a_process_and_on_exit_shutdown_ends_the_launch(tmp_path, child_script):
    runs = tmp_path / "runs.txt"
    path = launch_file(tmp_path, child_script, f"""
        - executable: {{cmd: "CHILD flaky count {runs}", name: flaky, respawn: "true", respawn_delay: "0.1"}}
        - executable: {{cmd: "CHILD timer exit0", name: timer, on_exit: shutdown}}
        """)
    # timer exits 0 after 0.3 s and ends the launch; meanwhile flaky (exit 1) keeps being respawned
    out, err = io.StringIO(), io.StringIO()
    result = LaunchRunner(parse_launch_file(path), stdout=out, stderr=err).run()
    assert result.exit_code == 0, err.getvalue()
    assert runs.read_text().count("run") >= 2
    assert "respawning in 0.1 s" in err.getvalue() and "has on_exit: shutdown" in err.getvalue()


def test_a_missing_program_fails_the_launch_with_its_name(tmp_path):
    path = tmp_path / "missing.launch.yaml"
    path.write_text("launch:\n- executable: {cmd: /nonexistent/program, name: ghost}\n")
    out, err = io.StringIO(), io.StringIO()
    result = LaunchRunner(parse_launch_file(path), stdout=out, stderr=err).run()
    assert result.exit_code == 1 and result.died == [("ghost", 127)]
    assert "cannot start 'ghost'" in err.getvalue()


def test_print_shows_the_resolved_processes_without_starting_them():
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([*ROBOMATRIX, "launch", str(root / "launch/sim.launch.yaml"), "seed:=5", "--print"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "[hardware_node] node at" in proc.stdout and "-p seed:=5" in proc.stdout
    assert "robomatrix.launch.run_node hardware_node --ros-args -r __node:=hardware_node" in proc.stdout


def test_run_node_refuses_an_unknown_executable_with_a_suggestion():
    proc = subprocess.run([sys.executable, "-m", "robomatrix.launch.run_node", "hardwar_node"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "Did you mean 'hardware_node'?" in proc.stderr and "Traceback" not in proc.stderr


def test_launching_an_unknown_node_executable_is_a_usage_error(tmp_path):
    path = tmp_path / "typo.launch.yaml"
    path.write_text("launch:\n- node: {pkg: robomatrix, exec: hardwre_node}\n")
    proc = subprocess.run([*ROBOMATRIX, "launch", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert f"{path}:2:" in proc.stderr and "Did you mean 'hardware_node'?" in proc.stderr
