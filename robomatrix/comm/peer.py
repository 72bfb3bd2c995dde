"""Nodes in a helper process: the echo peers of the transport tests and of `robomatrix bench comm`.

Child side: `serve(ctx, nodes, lifetime_s)` spins the nodes, prints `READY` once they are set
up, and returns when stdin closes (the parent went away or said stop), on SIGTERM/SIGINT, or
after `lifetime_s`, shutting the context down.

Parent side: `PeerProcess(argv, env)` starts the child, waits for its `READY` line, and
`close()` ends it (closes its stdin, kills it if it does not exit within 10 s).
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

from robomatrix.comm.context import Context
from robomatrix.comm.executor import Executor

READY = "READY"
START_TIMEOUT_S = 30.0


def serve(ctx: Context, nodes: list, lifetime_s: float) -> int:
    """Spin `nodes` until stdin closes, SIGTERM/SIGINT or `lifetime_s`; returns 0. Main thread only."""
    executor = Executor(list(nodes))

    def stop(*_):
        executor.shutdown()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=lambda: (sys.stdin.read(), stop()), daemon=True).start()
    watchdog = threading.Timer(lifetime_s, stop)
    watchdog.daemon = True
    watchdog.start()
    print(READY, flush=True)
    try:
        executor.spin()
    finally:
        watchdog.cancel()
        ctx.shutdown()
    return 0


def loopback_env(keep_cyclonedds_uri: bool = False) -> dict:
    """This process's environment for a peer: DDS discovery on localhost, unbuffered output
    and (unless kept) no user `CYCLONEDDS_URI`."""
    env = dict(os.environ, ROBOMATRIX_DISCOVERY="localhost", PYTHONUNBUFFERED="1")
    if not keep_cyclonedds_uri:
        env.pop("CYCLONEDDS_URI", None)
    return env


class PeerProcess:
    """A child process that prints `READY` when set up; RuntimeError (with its last output) if it does not."""

    def __init__(self, argv: list[str], env: dict | None = None, what: str = "peer",
                 start_timeout_s: float = START_TIMEOUT_S):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=loopback_env() if env is None else env)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.proc.stdout], daemon=True).start()
        deadline, seen = time.monotonic() + start_timeout_s, []
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.close()
                raise RuntimeError(f"the {what} did not start within {start_timeout_s:g} s: "
                                   f"{''.join(seen)[-500:]}") from None
            if line.strip() == READY:
                return
            seen.append(line)

    def close(self) -> None:
        """Close the child's stdin and wait for it to exit (killed after 10 s). Idempotent."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
