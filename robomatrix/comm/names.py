"""ROS 2 names and command-line arguments, without ROS 2.

Name resolution follows ROS 2 (design article "Topic and Service name mapping"):
- `/x` is absolute; `x` is relative to the node's namespace; `~` and `~/x` are private
  (under `<namespace>/<node_name>`); `{node}` and `{ns}` are substituted.
- remapping rules `from:=to` are expanded the same way and applied to the fully
  qualified name; a rule may be limited to one node with a `node_name:` prefix.

`parse_ros_args` reads the `--ros-args ... [--]` sections of an argv the way rcl does:
`-p/--param name:=value` (values parsed as YAML scalars), `-r/--remap [node:]from:=to`,
`--params-file FILE`, `--log-level [logger:=]level`. Everything outside those sections
is returned untouched.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from robomatrix.errors import UsageError

_TOKEN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NODE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LOG_LEVELS = ("debug", "info", "warning", "error", "fatal")


def validate_node_name(name: str) -> str:
    if not isinstance(name, str) or not _NODE_NAME.match(name):
        raise UsageError(
            f"Invalid node name {name!r}: use letters, digits and underscores, not starting with a digit.")
    return name


def normalize_namespace(namespace: str | None) -> str:
    """'' / None → '/'; 'robot' → '/robot'; '/a/b/' → '/a/b'."""
    ns = (namespace or "").strip()
    if not ns or ns == "/":
        return "/"
    if not ns.startswith("/"):
        ns = "/" + ns
    ns = ns.rstrip("/")
    for token in ns[1:].split("/"):
        if not _TOKEN.match(token):
            raise UsageError(f"Invalid namespace {namespace!r}: bad token {token!r}.")
    return ns


def expand_name(name: str, namespace: str = "/", node_name: str = "") -> str:
    """Expand a topic or service name to its fully qualified form (no remapping)."""
    if not isinstance(name, str) or not name:
        raise UsageError(f"Invalid topic or service name {name!r}: must be a non-empty string.")
    ns = normalize_namespace(namespace)
    expanded = name.replace("{node}", node_name).replace("{ns}", ns.rstrip("/") or "")
    if expanded.startswith("~"):
        if not node_name:
            raise UsageError(f"Private name {name!r} needs a node name.")
        private = (ns.rstrip("/") + "/" + node_name)
        rest = expanded[1:]
        if rest and not rest.startswith("/"):
            raise UsageError(f"Invalid private name {name!r}: write '~/{rest}'.")
        expanded = private + rest
    elif not expanded.startswith("/"):
        expanded = ns.rstrip("/") + "/" + expanded
    if expanded != "/" and expanded.endswith("/"):
        raise UsageError(f"Invalid topic or service name {name!r}: must not end with '/'.")
    for token in expanded[1:].split("/"):
        if not _TOKEN.match(token):
            raise UsageError(
                f"Invalid topic or service name {name!r}: token {token!r} must be letters, digits and "
                "underscores, not starting with a digit.")
    return expanded


def resolve_name(name: str, namespace: str = "/", node_name: str = "",
                 remappings: dict[str, str] | None = None) -> str:
    """Expand `name`, then apply the first remapping rule whose expanded `from` matches."""
    resolved = expand_name(name, namespace, node_name)
    for source, target in (remappings or {}).items():
        if source.startswith("__"):
            continue  # __node / __ns rename the node; they are not topic rules
        if expand_name(source, namespace, node_name) == resolved:
            return expand_name(target, namespace, node_name)
    return resolved


def parse_yaml_scalar(text: str) -> Any:
    """Parse a `-p name:=value` value like ROS 2 does: YAML ('3' → 3, 'true' → True, '[1, 2]' → list)."""
    try:
        return yaml.safe_load(text) if text != "" else ""
    except yaml.YAMLError:
        return text


@dataclass
class RosArgs:
    """Everything `--ros-args` sections said, plus the arguments outside them."""

    params: dict[str, Any] = field(default_factory=dict)      # name → value, in order of appearance
    remaps: dict[str, str] = field(default_factory=dict)      # '[node:]from' → 'to'
    rest: list[str] = field(default_factory=list)             # arguments outside --ros-args
    log_levels: dict[str, str] = field(default_factory=dict)  # '' (all loggers) or logger name → level
    node_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # from params files, per node

    def params_for(self, node_name: str, fq_name: str = "") -> dict[str, Any]:
        """Parameters that apply to one node: params files (`/**` and its name), then `-p`."""
        merged: dict[str, Any] = {}
        for key in ("/**", node_name, fq_name.lstrip("/"), fq_name):
            merged.update(self.node_params.get(key, {}))
        merged.update(self.params)
        return merged

    def remaps_for(self, node_name: str) -> dict[str, str]:
        rules: dict[str, str] = {}
        for source, target in self.remaps.items():
            if ":" in source:
                scope, _, source = source.partition(":")
                if scope != node_name:
                    continue
            rules[source] = target
        return rules

    def log_level_for(self, logger_name: str) -> str | None:
        return self.log_levels.get(logger_name, self.log_levels.get(""))


def _split_assignment(flag: str, text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":=")
    if not sep or not name:
        raise UsageError(f"Bad argument '{flag} {text}': expected name:=value.")
    return name, value


def _load_params_file(path: str, into: dict[str, dict[str, Any]]) -> None:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except OSError as exc:
        raise UsageError(f"Cannot read parameters file '{path}': {exc.strerror}.") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"Malformed parameters file '{path}': {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"Parameters file '{path}' must map node names to 'ros__parameters'.")
    for node, section in data.items():
        params = section.get("ros__parameters") if isinstance(section, dict) else None
        if not isinstance(params, dict):
            raise UsageError(f"Parameters file '{path}': node '{node}' has no 'ros__parameters' mapping.")
        into.setdefault(str(node), {}).update(_flatten(params))


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def parse_ros_args_full(argv: list[str] | None) -> RosArgs:
    """Parse an argv's `--ros-args` sections (see module docstring)."""
    out = RosArgs()
    args = list(argv or [])
    i, inside = 0, False
    while i < len(args):
        arg = args[i]
        if arg == "--ros-args":
            inside = True
        elif not inside:
            out.rest.append(arg)
        elif arg == "--":
            inside = False
        elif arg in ("-p", "--param", "-r", "--remap", "--params-file", "--log-level", "-e", "--enclave"):
            if i + 1 >= len(args):
                raise UsageError(f"Argument '{arg}' in --ros-args needs a value.")
            value = args[i + 1]
            i += 1
            if arg in ("-p", "--param"):
                name, text = _split_assignment(arg, value)
                out.params[name] = parse_yaml_scalar(text)
            elif arg in ("-r", "--remap"):
                name, target = _split_assignment(arg, value)
                out.remaps[name] = target
            elif arg == "--params-file":
                _load_params_file(value, out.node_params)
            elif arg == "--log-level":
                logger, sep, level = value.rpartition(":=")
                level = {"warn": "warning"}.get(level.lower(), level.lower())
                if level not in LOG_LEVELS:
                    raise UsageError(f"Unknown log level '{value}'. Valid: {', '.join(LOG_LEVELS)}.")
                out.log_levels[logger if sep else ""] = level
        else:
            raise UsageError(
                f"Unknown argument '{arg}' in --ros-args. Valid: -p name:=value, -r from:=to, "
                "--params-file FILE, --log-level LEVEL (end the section with --).")
        i += 1
    return out


def parse_ros_args(argv: list[str] | None) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """`(params, remaps, rest)` from an argv; see `parse_ros_args_full` for params files and log levels."""
    parsed = parse_ros_args_full(argv)
    return parsed.params, parsed.remaps, parsed.rest
