"""Node parameters: declared with a default (which fixes the type), overridable from launch
files (`parameter_overrides`) and the command line (`--ros-args -p name:=value`).

Type rules (ROS 2's static typing, with one convenience): the default's type is the
parameter's type; an int is accepted where a float is expected (`rate:=10`); bool is
never taken for int; a default of None makes the parameter dynamically typed. A wrong
type raises `UsageError("Parameter 'seed' of node 'hardware_node' expects int, got 'abc' (str).")`.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from robomatrix.errors import UsageError, unknown_name

_TYPE_NAMES = {bool: "bool", int: "int", float: "float", str: "str", list: "list", bytes: "bytes"}


def _type_of(value: Any) -> type | None:
    if value is None:
        return None
    for t in (bool, int, float, str, bytes):
        if type(value) is t:
            return t
    if isinstance(value, (list, tuple)):
        return list
    raise UsageError(
        f"Parameter values must be bool, int, float, str, bytes or a list of those; got {type(value).__name__}.")


@dataclass(frozen=True)
class Parameter:
    """One parameter's current state (`.value` like rclpy's Parameter)."""

    name: str
    value: Any
    type_: type | None  # None: dynamically typed (declared with default None)
    description: str = ""
    read_only: bool = False

    @property
    def type_name(self) -> str:
        return _TYPE_NAMES.get(self.type_, "any")


def coerce(node_name: str, name: str, expected: type | None, value: Any) -> Any:
    """`value` converted to the parameter's type, or UsageError naming the parameter."""
    if expected is None:
        return list(value) if isinstance(value, tuple) else value
    ok = type(value) is expected or (expected is float and type(value) is int) or (
        expected is list and isinstance(value, (list, tuple)))
    if not ok:
        shown = repr(value) if not isinstance(value, (list, dict)) else type(value).__name__
        raise UsageError(
            f"Parameter '{name}' of node '{node_name}' expects {_TYPE_NAMES[expected]}, "
            f"got {shown} ({type(value).__name__}).")
    if expected is float:
        return float(value)
    if expected is list:
        return list(value)
    return value


class ParameterStore:
    """The parameters of one node. Thread-safe; overrides for undeclared names wait for their declaration."""

    def __init__(self, node_name: str, overrides: dict[str, Any] | None = None):
        self.node_name = node_name
        self._lock = threading.Lock()
        self._params: dict[str, Parameter] = {}
        self._overrides: dict[str, Any] = dict(overrides or {})
        self._on_set: list[Callable[[list[Parameter]], Any]] = []

    def declare(self, name: str, default: Any = None, description: str = "", read_only: bool = False,
                ignore_override: bool = False) -> Parameter:
        if not isinstance(name, str) or not name:
            raise UsageError(f"Parameter names must be non-empty strings, got {name!r}.")
        expected = _type_of(default)
        with self._lock:
            if name in self._params:
                raise UsageError(f"Parameter '{name}' of node '{self.node_name}' is already declared.")
            value = default
            if not ignore_override and name in self._overrides:
                value = self._overrides[name]
            value = coerce(self.node_name, name, expected, value)
            param = Parameter(name, value, expected, description, read_only)
            self._params[name] = param
            return param

    def undeclare(self, name: str) -> None:
        with self._lock:
            self._get_locked(name)
            del self._params[name]

    def has(self, name: str) -> bool:
        with self._lock:
            return name in self._params

    def get(self, name: str) -> Parameter:
        with self._lock:
            return self._get_locked(name)

    def _get_locked(self, name: str) -> Parameter:
        if name not in self._params:
            if not self._params:
                raise UsageError(f"Parameter '{name}' of node '{self.node_name}' is not declared "
                                 "(the node declares no parameters).")
            err = unknown_name("parameter", name, self._params)
            raise UsageError(f"{err} (of node '{self.node_name}'; declare it with declare_parameter first)")
        return self._params[name]

    def names(self) -> list[str]:
        with self._lock:
            return list(self._params)

    def set(self, values: dict[str, Any] | Iterable[Parameter]) -> list[Parameter]:
        """Set several declared parameters at once (all or none); returns the new Parameters."""
        items = values.items() if isinstance(values, dict) else ((p.name, p.value) for p in values)
        with self._lock:
            updated = []
            for name, value in items:
                current = self._get_locked(name)
                if current.read_only:
                    raise UsageError(f"Parameter '{name}' of node '{self.node_name}' is read-only.")
                updated.append(Parameter(name, coerce(self.node_name, name, current.type_, value),
                                         current.type_, current.description))
            callbacks = list(self._on_set)
        for callback in callbacks:
            verdict = callback(updated)
            ok, reason = (verdict, "") if not isinstance(verdict, tuple) else verdict
            if verdict is not None and not ok:
                raise UsageError(f"Node '{self.node_name}' refused the parameter change: {reason or 'rejected'}.")
        with self._lock:
            for param in updated:
                self._params[param.name] = param
        return updated

    def add_on_set_callback(self, callback: Callable[[list[Parameter]], Any]) -> None:
        """`callback(params)` may return False or (False, reason) to refuse a change."""
        self._on_set.append(callback)
