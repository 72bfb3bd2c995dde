"""Processes the end-to-end tests start: one process group each, output drained into `proc.log`
(a full pipe would block the nodes; the lines are shown when a test fails), stopped with SIGINT
as a person would (SIGKILL only if it does not end in time)."""
import os
import signal
import subprocess
import threading


def start_logged(cmd: list[str], env: dict) -> subprocess.Popen:
    """Start `cmd` in its own process group; its output (stdout and stderr) collects in `proc.log`."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    proc.log = []

    def drain():
        for line in proc.stdout:
            proc.log.append(line)

    threading.Thread(target=drain, daemon=True).start()
    return proc


def stop_group(proc: subprocess.Popen, timeout_s: float = 15.0) -> None:
    """SIGINT to the process group, then SIGKILL after `timeout_s`."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
