"""Run a `LaunchPlan` without ROS 2: one child process per node or executable.

- Children run on the `dds` transport with localhost discovery unless the environment
  says otherwise (`ROBOMATRIX_TRANSPORT`, `ROBOMATRIX_DISCOVERY`), unbuffered.
- Every line a child writes is shown prefixed with `[label] ` (stdout to stdout, stderr
  to stderr).
- Each child gets its own process group, so only the launcher decides what it receives:
  on Ctrl-C / SIGTERM the launcher sends SIGINT to every child, SIGTERM after the child's
  `sigterm_timeout`, SIGKILL after `sigkill_timeout`; another Ctrl-C skips to the next step.
- A child that dies unexpectedly (non-zero exit or killed by a signal, not `respawn`)
  brings the launch down: the others are stopped and `run()` returns exit code 1 naming it.
  A child that exits 0 just ends, unless it has `on_exit: shutdown`.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

from robomatrix.launch.model import LaunchPlan, ProcessSpec

CHILD_ENV_DEFAULTS = {"ROBOMATRIX_TRANSPORT": "dds", "ROBOMATRIX_DISCOVERY": "localhost", "PYTHONUNBUFFERED": "1"}


@dataclass
class LaunchResult:
    """How a launch ended: `exit_code` 0 (clean) or 1 (a process died), and which ones died."""

    exit_code: int
    died: list[tuple[str, int]] = field(default_factory=list)  # (label, returncode; negative = signal)

    def describe(self) -> str:
        return "; ".join(f"process '{label}' {describe_returncode(rc)}" for label, rc in self.died)


def describe_returncode(rc: int) -> str:
    if rc < 0:
        try:
            return f"was killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"was killed by signal {-rc}"
    return f"exited with code {rc}"


class _Child:
    def __init__(self, spec: ProcessSpec):
        self.spec = spec
        self.popen: subprocess.Popen | None = None
        self.readers: list[threading.Thread] = []
        self.respawn_at: float | None = None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.returncode is None


class LaunchRunner:
    """Start, watch and stop the processes of a plan. `run()` blocks until the launch ends."""

    def __init__(self, plan: LaunchPlan, stdout: TextIO | None = None, stderr: TextIO | None = None,
                 poll_s: float = 0.05):
        self.plan = plan
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.poll_s = poll_s
        self.children = [_Child(spec) for spec in plan.processes]
        self._lock = threading.Lock()
        self._signals = 0
        self._shutdown_requested = False
        self._died: list[tuple[str, int]] = []

    # ------------------------------------------------------------------ output
    def _write(self, sink: TextIO, text: str) -> None:
        with self._lock:
            try:
                sink.write(text if text.endswith("\n") else text + "\n")
                sink.flush()
            except (OSError, ValueError):  # our output was closed (`| head`): keep running, stay quiet
                pass

    def say(self, text: str) -> None:
        self._write(self.stderr, f"[launch] {text}")

    def _pump(self, stream, sink: TextIO, label: str) -> None:
        for raw in iter(stream.readline, b""):
            self._write(sink, f"[{label}] " + raw.decode("utf-8", errors="replace"))
        stream.close()

    # ------------------------------------------------------------------ processes
    def child_env(self, spec: ProcessSpec) -> dict[str, str]:
        env = dict(os.environ)
        for key, value in CHILD_ENV_DEFAULTS.items():
            env.setdefault(key, value)
        for key in spec.unset_env:
            env.pop(key, None)
        env.update(spec.env)
        return env

    def _start(self, child: _Child) -> None:
        spec = child.spec
        child.respawn_at = None
        try:
            child.popen = subprocess.Popen(
                spec.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=spec.cwd, env=self.child_env(spec), start_new_session=True)
        except OSError as exc:
            self.say(f"cannot start '{spec.label}' ({spec.where}): {exc.strerror or exc}: {spec.cmd[0]}")
            child.popen = None
            self._died.append((spec.label, 127))
            self._shutdown_requested = True
            return
        child.readers = [threading.Thread(target=self._pump, args=(stream, sink, spec.label), daemon=True)
                         for stream, sink in ((child.popen.stdout, self.stdout), (child.popen.stderr, self.stderr))]
        for reader in child.readers:
            reader.start()
        self.say(f"started '{spec.label}' (pid {child.popen.pid})")

    def _on_exit(self, child: _Child, rc: int) -> None:
        for reader in child.readers:
            reader.join(timeout=1.0)  # its last words come before ours
        spec = child.spec
        if self._shutdown_requested:
            return
        if spec.respawn:
            self.say(f"'{spec.label}' {describe_returncode(rc)}; respawning in {spec.respawn_delay_s:g} s")
            child.respawn_at = time.monotonic() + spec.respawn_delay_s
        elif rc == 0:
            self.say(f"'{spec.label}' finished (exit code 0)")
            if spec.shutdown_on_exit:
                self.say(f"'{spec.label}' has on_exit: shutdown; stopping the others")
                self._shutdown_requested = True
        else:
            self.say(f"'{spec.label}' died unexpectedly: it {describe_returncode(rc)}; stopping the others")
            self._died.append((spec.label, rc))
            self._shutdown_requested = True

    def _signal(self, child: _Child, sig: int) -> None:
        if child.running:
            try:
                os.killpg(child.popen.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def _on_signal(self, signum, frame) -> None:
        self._signals += 1
        self._shutdown_requested = True

    # ------------------------------------------------------------------ main loop
    def run(self) -> LaunchResult:
        transport = self.child_env(ProcessSpec("node", "", [], ""))["ROBOMATRIX_TRANSPORT"]
        if transport == "inproc":
            self.say("ROBOMATRIX_TRANSPORT=inproc: nodes in separate processes cannot reach each other "
                     "(unset it to use dds)")
        in_main = threading.current_thread() is threading.main_thread()
        previous = {}
        if in_main:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                previous[sig] = signal.signal(sig, self._on_signal)
        try:
            for child in self.children:
                if not self._shutdown_requested:
                    self._start(child)
            while not self._shutdown_requested:
                now = time.monotonic()
                for child in self.children:
                    if child.popen is not None and child.running and child.popen.poll() is not None:
                        self._on_exit(child, child.popen.returncode)
                    elif child.respawn_at is not None and now >= child.respawn_at and not self._shutdown_requested:
                        self._start(child)
                if not any(c.running or c.respawn_at is not None for c in self.children):
                    break
                time.sleep(self.poll_s)
            stopping = [c for c in self.children if c.running]
            self._stop_all()
            for child in stopping:
                child.popen.poll()
                if child.popen.returncode is not None:
                    self.say(f"'{child.spec.label}' stopped ({describe_returncode(child.popen.returncode)})")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        for child in self.children:
            for reader in child.readers:
                reader.join(timeout=2.0)
        return LaunchResult(1 if self._died else 0, list(self._died))

    def _stop_all(self) -> None:
        """SIGINT, then SIGTERM, then SIGKILL, each after the child's timeout (or on another signal)."""
        steps = [(signal.SIGINT, lambda s: s.sigterm_timeout_s), (signal.SIGTERM, lambda s: s.sigkill_timeout_s),
                 (signal.SIGKILL, lambda s: 5.0)]
        for sig, timeout in steps:
            live = [c for c in self.children if c.running and c.popen.poll() is None]
            if not live:
                return
            if sig != signal.SIGINT:
                self.say(f"sending {sig.name} to {', '.join(repr(c.spec.label) for c in live)}")
            for child in live:
                self._signal(child, sig)
            signals_seen = self._signals
            deadline = time.monotonic() + max(timeout(c.spec) for c in live)
            while time.monotonic() < deadline and self._signals == signals_seen:
                if all(c.popen.poll() is not None for c in live):
                    break
                time.sleep(self.poll_s)


def run_launch(plan: LaunchPlan, stdout: TextIO | None = None, stderr: TextIO | None = None) -> LaunchResult:
    """Run every process of `plan` until they end, a process dies, or the launcher is signalled."""
    return LaunchRunner(plan, stdout, stderr).run()
