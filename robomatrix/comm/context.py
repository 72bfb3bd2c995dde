"""`Context`: one transport instance plus the nodes and executors using it.

A process usually has one (the default, from `comm.init`); tests may hold several.
Transports register by name in `robomatrix.comm.transport.TRANSPORTS`; `dds` and
`rclpy` are imported only when asked for.
"""
from __future__ import annotations

import atexit
import importlib
import os
import threading
import weakref
from typing import Any

from robomatrix.comm import inproc  # noqa: F401  (registers 'inproc')
from robomatrix.comm.names import RosArgs, parse_ros_args_full
from robomatrix.comm.transport import TRANSPORTS, Transport
from robomatrix.errors import UsageError, unknown_name

# name → (module that registers it, the third-party package it needs)
_LAZY_TRANSPORTS = {"dds": ("robomatrix.comm.dds", "cyclonedds"), "rclpy": ("robomatrix.comm.rclpy_transport", "rclpy")}
KNOWN_TRANSPORTS = ("inproc", "dds", "rclpy")


def transport_factory(name: str):
    """The registered factory for `name`, importing its module on first use."""
    if name not in TRANSPORTS and name in _LAZY_TRANSPORTS:
        module, package = _LAZY_TRANSPORTS[name]
        try:
            importlib.import_module(module)
        except ImportError as exc:
            root = (exc.name or "").split(".")[0]
            if exc.name != module and root != package:
                raise  # a bug inside our transport module, not a missing dependency: say so loudly
            raise UsageError(f"Transport '{name}' is not available here: {exc}. "
                             f"It needs the '{package}' package; `robomatrix doctor` checks this.") from None
    if name not in TRANSPORTS:
        raise unknown_name("transport", name, sorted(set(TRANSPORTS) | set(KNOWN_TRANSPORTS)))
    return TRANSPORTS[name]


def available_transports() -> list[str]:
    """The transports that can be created in this process (inproc always)."""
    names = []
    for name in (*KNOWN_TRANSPORTS, *sorted(set(TRANSPORTS) - set(KNOWN_TRANSPORTS))):
        try:
            transport_factory(name)
        except UsageError:
            continue
        names.append(name)
    return names


_live: set[Context] = set()
_live_lock = threading.Lock()


class Context:
    """A transport and everything created on it; `shutdown()` closes it all (idempotent).

    `Context(transport="dds", domain_id=None, discovery="localhost")`: keyword arguments
    other than `args` go to the transport's constructor.
    """

    def __init__(self, transport: str = "inproc", args: list[str] | None = None, **transport_kwargs: Any):
        if isinstance(transport, Transport):
            self.transport = transport
        else:
            self.transport = transport_factory(transport)(**transport_kwargs)
        self.transport_name = self.transport.name or str(transport)
        self.args: RosArgs = parse_ros_args_full(args)
        self._lock = threading.Lock()
        self._nodes: list = []
        self._executors: weakref.WeakSet = weakref.WeakSet()
        self._ok = True
        with _live_lock:
            _live.add(self)

    def ok(self) -> bool:
        return self._ok

    @property
    def nodes(self) -> list:
        with self._lock:
            return list(self._nodes)

    def _add_node(self, node) -> None:
        with self._lock:
            if not self._ok:
                raise RuntimeError("the context is shut down; create a new one (comm.init)")
            self._nodes.append(node)

    def _remove_node(self, node) -> None:
        with self._lock:
            if node in self._nodes:
                self._nodes.remove(node)

    def _add_executor(self, executor) -> None:
        self._executors.add(executor)

    def shutdown(self) -> None:
        """Destroy every node, stop every executor spinning them, close the transport."""
        with self._lock:
            if not self._ok:
                return
            self._ok = False
            nodes = list(self._nodes)
        for executor in list(self._executors):
            executor.shutdown(timeout_sec=0)
        for node in nodes:
            node.destroy_node()
        self.transport.shutdown()
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"<Context {self.transport_name}{'' if self._ok else ' (shut down)'}>"


_default: Context | None = None
_default_lock = threading.Lock()


def init(args: list[str] | None = None, transport: str | None = None, **transport_kwargs: Any) -> Context:
    """Create the process's default context: transport from the argument, else the
    `ROBOMATRIX_TRANSPORT` environment variable, else 'inproc'. Returns the existing
    default context if one is already running on the same transport."""
    global _default
    name = transport or os.environ.get("ROBOMATRIX_TRANSPORT") or "inproc"
    with _default_lock:
        if _default is not None and _default.ok():
            if _default.transport_name != name:
                raise UsageError(f"comm.init: the default context already runs on '{_default.transport_name}', "
                                 f"not '{name}'; call comm.shutdown() first.")
            return _default
        _default = Context(name, args=args, **transport_kwargs)
        return _default


def default_context() -> Context:
    """The default context, created with `init()` on first use."""
    with _default_lock:
        ctx = _default
    return ctx if ctx is not None and ctx.ok() else init()


def shutdown(context: Context | None = None) -> None:
    """Shut down `context`, or (None) every context of this process, the default included."""
    if context is not None:
        context.shutdown()
        return
    with _live_lock:
        contexts = list(_live)
    for ctx in contexts:
        ctx.shutdown()


def ok(context: Context | None = None) -> bool:
    ctx = context or _default
    return ctx is not None and ctx.ok()


# Shut down before the interpreter joins non-daemon threads (as concurrent.futures does), so a
# thread still spinning a node cannot keep the process alive; atexit as the fallback.
_register_early_exit = getattr(threading, "_register_atexit", None)
if _register_early_exit is not None:
    _register_early_exit(shutdown)
atexit.register(shutdown)
