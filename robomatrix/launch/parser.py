"""Parse ROS 2 YAML launch files (the `launch:` list format) into a `LaunchPlan`.

Supported tags (as in ROS 2's launch_yaml / launch_ros): `arg`, `let`, `node`,
`executable`, `group` (a list of children, or `scoped`/`children`), `include`,
`push-ros-namespace` (also `push_ros_namespace`), `set_env`, `unset_env`, `set_remap`;
`if` / `unless` on every tag; substitutions from `robomatrix.launch.substitutions`.
Every error is a one-line `UsageError` naming the file and line.
"""
from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from robomatrix.errors import UsageError, closest, unknown_name
from robomatrix.launch.model import LaunchArgument, LaunchPlan, ProcessSpec
from robomatrix.launch.source import LList, LMap, load_located
from robomatrix.launch.substitutions import SubstitutionContext, substitute, truth

_COMMON = ("if", "unless")
_PROCESS = ("output", "respawn", "respawn_delay", "on_exit", "launch-prefix", "cwd", "env",
            "sigterm_timeout", "sigkill_timeout", "emulate_tty", "args", "name")
TAGS: dict[str, tuple[str, ...]] = {
    "arg": ("name", "default", "description"),
    "let": ("name", "value"),
    "node": ("pkg", "exec", "namespace", "param", "remap", "ros_args", "exec_name", *_PROCESS),
    "executable": ("cmd", "shell", *_PROCESS),
    "group": ("scoped", "forwarding", "children"),
    "include": ("file", "arg"),
    "push-ros-namespace": ("namespace",),
    "push_ros_namespace": ("namespace",),
    "set_env": ("name", "value"),
    "unset_env": ("name",),
    "set_remap": ("from", "to"),
}
REQUIRED = {"arg": ("name",), "let": ("name", "value"), "node": ("pkg", "exec"), "executable": ("cmd",),
            "include": ("file",), "push-ros-namespace": ("namespace",), "push_ros_namespace": ("namespace",),
            "set_env": ("name", "value"), "unset_env": ("name",), "set_remap": ("from", "to")}
OUTPUTS = ("screen", "log", "both")
MAX_INCLUDE_DEPTH = 20


def parse_cli_arguments(tokens: list[str]) -> dict[str, str]:
    """`['scene:=office', 'seed:=3']` → `{'scene': 'office', 'seed': '3'}` (UsageError otherwise)."""
    values: dict[str, str] = {}
    for token in tokens:
        name, sep, value = token.partition(":=")
        if not sep or not name:
            raise UsageError(f"Bad launch argument '{token}': write name:=value.")
        values[name] = value
    return values


@dataclass
class _Scope:
    variables: dict[str, str]
    namespace: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    unset_env: list[str] = field(default_factory=list)
    remaps: dict[str, str] = field(default_factory=dict)

    def copy(self) -> _Scope:
        return replace(self, variables=dict(self.variables), env=dict(self.env),
                       unset_env=list(self.unset_env), remaps=dict(self.remaps))


def _join_namespace(base: str, ns: str) -> str:
    if ns.startswith("/"):
        return ns.rstrip("/") or "/"
    joined = f"{base.rstrip('/')}/{ns}".rstrip("/")
    return joined if joined.startswith("/") else "/" + joined


def _yaml_text(value: Any) -> str:
    """A typed YAML value as the text `-p name:=text` would carry."""
    return value if isinstance(value, str) else json.dumps(value)


class _Parser:
    def __init__(self, cli_args: dict[str, str]):
        self.cli_args = cli_args
        self.plan: LaunchPlan | None = None
        self.labels: dict[str, int] = {}

    # ---------------------------------------------------------------- files
    def parse_file(self, path: Path, scope: _Scope, depth: int, where: str = "") -> None:
        if depth > MAX_INCLUDE_DEPTH:
            raise UsageError(f"{where}: includes nest deeper than {MAX_INCLUDE_DEPTH} (an include loop?).")
        root = load_located(path)
        if not isinstance(root, LMap) or "launch" not in root:
            keys = list(root) if isinstance(root, LMap) else []
            hint = f" (found '{keys[0]}'" + ("; did you mean 'launch'?)" if closest(keys[0], ["launch"]) else ")") \
                if keys else ""
            raise UsageError(f"{path}:{getattr(root, 'line', 1)}: a launch file needs a top-level "
                             f"'launch:' list of tags{hint}.")
        if len(root) > 1:
            extra = next(k for k in root if k != "launch")
            raise UsageError(f"{path}:{root.key_lines[extra]}: unexpected top-level key '{extra}'; "
                             "everything goes in the 'launch:' list.")
        self.parse_list(root["launch"], path, root.key_lines["launch"], scope, depth, "launch")

    def parse_list(self, items: Any, path: Path, line: int, scope: _Scope, depth: int, owner: str) -> None:
        if items is None:
            return
        if not isinstance(items, LList):
            raise UsageError(f"{path}:{line}: '{owner}' must be a list of tags ('- node: ...').")
        for item, item_line in zip(items, items.item_lines):
            if not isinstance(item, LMap) or len(item) != 1:
                raise UsageError(f"{path}:{item_line}: each item of '{owner}' must be exactly one tag, "
                                 f"like '- node: {{pkg: ..., exec: ...}}'.")
            tag = next(iter(item))
            self.parse_entity(tag, item[tag], path, item.key_lines[tag], scope, depth)

    # ---------------------------------------------------------------- entities
    def parse_entity(self, tag: str, body: Any, path: Path, line: int, scope: _Scope, depth: int) -> None:
        where = f"{path}:{line}"
        if tag not in TAGS:
            raise UsageError(f"{where}: {unknown_name('launch tag', tag, TAGS)}")
        if tag == "group" and isinstance(body, LList):
            body_map: LMap = LMap()
            body_map.line, body_map.key_lines = line, {"children": line}
            body_map["children"] = body
            body = body_map
        if not isinstance(body, LMap):
            raise UsageError(f"{where}: '{tag}' needs attributes, like '{tag}: {{{', '.join(TAGS[tag][:2])}: ...}}'.")
        for key in body:
            if key not in TAGS[tag] and key not in _COMMON:
                raise UsageError(f"{path}:{body.key_lines[key]}: "
                                 f"{unknown_name(f'attribute of {tag!r}', key, TAGS[tag] + _COMMON)}")
        for key in REQUIRED.get(tag, ()):
            if body.get(key) is None:
                raise UsageError(f"{where}: '{tag}' needs '{key}'.")
        ctx = SubstitutionContext(scope.variables, path, where)
        if "if" in body and not truth(ctx, self.text(body, "if", ctx)):
            return
        if "unless" in body and truth(ctx, self.text(body, "unless", ctx)):
            return
        getattr(self, "tag_" + tag.replace("-", "_"))(body, path, ctx, scope, depth)

    def text(self, body: LMap, key: str, ctx: SubstitutionContext, default: str | None = None) -> str | None:
        value = body.get(key, default)
        if value is None:
            return None
        if isinstance(value, (LMap, LList)):
            raise UsageError(f"{ctx.launch_file}:{body.key_lines.get(key, body.line)}: "
                             f"'{key}' must be a single value, not a {'list' if isinstance(value, list) else 'mapping'}.")
        sub_ctx = replace(ctx, where=f"{ctx.launch_file}:{body.key_lines.get(key, body.line)}")
        return substitute(_yaml_text(value) if not isinstance(value, str) else value, sub_ctx)

    def number(self, body: LMap, key: str, ctx: SubstitutionContext, default: float) -> float:
        text = self.text(body, key, ctx)
        if text is None:
            return default
        try:
            return float(text)
        except ValueError:
            raise UsageError(f"{ctx.launch_file}:{body.key_lines[key]}: '{key}' must be a number of seconds, "
                             f"got '{text}'.") from None

    def tag_arg(self, body: LMap, path: Path, ctx: SubstitutionContext, scope: _Scope, depth: int) -> None:
        name = self.text(body, "name", ctx)
        default = self.text(body, "default", ctx)
        if name in self.cli_args:
            value = self.cli_args[name]
        elif name in scope.variables:
            value = scope.variables[name]
        elif default is not None:
            value = default
        else:
            declared = {a.name for a in self.plan.arguments} | {name}
            typo = next((c for c in self.cli_args if c not in declared and closest(c, [name])), None)
            hint = f" (you passed '{typo}:=...'; did you mean '{name}'?)" if typo else ""
            raise UsageError(f"{ctx.where}: launch argument '{name}' is required: pass {name}:=VALUE{hint}.")
        scope.variables[name] = value
        if all(a.name != name for a in self.plan.arguments):
            self.plan.arguments.append(LaunchArgument(
                name, value, default, self.text(body, "description", ctx) or "", ctx.where))

    def tag_let(self, body: LMap, path: Path, ctx: SubstitutionContext, scope: _Scope, depth: int) -> None:
        scope.variables[self.text(body, "name", ctx)] = self.text(body, "value", ctx)

    def tag_set_env(self, body: LMap, path: Path, ctx: SubstitutionContext, scope: _Scope, depth: int) -> None:
        name = self.text(body, "name", ctx)
        scope.env[name] = self.text(body, "value", ctx)
        scope.unset_env = [n for n in scope.unset_env if n != name]

    def tag_unset_env(self, body: LMap, path: Path, ctx: SubstitutionContext, scope: _Scope, depth: int) -> None:
        name = self.text(body, "name", ctx)
        scope.env.pop(name, None)
        scope.unset_env.append(name)

    def tag_set_remap(self, body: LMap, path: Path, ctx: SubstitutionContext, scope: _Scope, depth: int) -> None:
        scope.remaps[self.text(body, "from", ctx)] = self.text(body, "to", ctx)

    def tag_push_ros_namespace(self, body, path, ctx, scope, depth) -> None:
        scope.namespace = _join_namespace(scope.namespace, self.text(body, "namespace", ctx))

    def tag_group(self, body: LMap, path: Path, ctx: SubstitutionContext, scope: _Scope, depth: int) -> None:
        scoped = truth(ctx, self.text(body, "scoped", ctx, "true"))
        inner = scope.copy() if scoped else scope
        self.parse_list(body.get("children"), path, body.key_lines.get("children", body.line), inner, depth, "group")

    def tag_include(self, body: LMap, path: Path, ctx: SubstitutionContext, scope: _Scope, depth: int) -> None:
        target = Path(self.text(body, "file", ctx))
        if not target.is_absolute():
            beside = path.parent / target
            target = beside if beside.exists() else target
        if not target.is_file():
            raise UsageError(f"{ctx.where}: included launch file '{target}' does not exist.")
        inner = scope.copy()
        for item, line in self.mappings(body, "arg", path, ("name", "value")):
            item_ctx = replace(ctx, where=f"{path}:{line}")
            inner.variables[self.text(item, "name", item_ctx)] = self.text(item, "value", item_ctx) or ""
        self.parse_file(target, inner, depth + 1, ctx.where)

    def mappings(self, body: LMap, key: str, path: Path, attrs: tuple[str, ...], required=True):
        """Items of a list-of-mappings attribute (`param`, `remap`, `env`, include `arg`) with their lines."""
        items = body.get(key)
        if items is None:
            return []
        if not isinstance(items, LList):
            raise UsageError(f"{path}:{body.key_lines[key]}: '{key}' must be a list of mappings "
                             f"({', '.join(attrs)}).")
        out = []
        for item, line in zip(items, items.item_lines):
            if not isinstance(item, LMap):
                raise UsageError(f"{path}:{line}: each '{key}' item must be a mapping with {', '.join(attrs)}.")
            for attr in item:
                if attr not in attrs:
                    raise UsageError(f"{path}:{item.key_lines[attr]}: "
                                     f"{unknown_name(f'attribute of {key!r}', attr, attrs)}")
            out.append((item, line))
        return out

    def process_common(self, body: LMap, path: Path, ctx: SubstitutionContext, scope: _Scope, spec: ProcessSpec):
        spec.output = self.text(body, "output", ctx, "screen")
        if spec.output not in OUTPUTS:
            raise UsageError(f"{path}:{body.key_lines['output']}: {unknown_name('output', spec.output, OUTPUTS)}")
        spec.respawn = truth(ctx, self.text(body, "respawn", ctx, "false"))
        spec.respawn_delay_s = self.number(body, "respawn_delay", ctx, 0.0)
        on_exit = self.text(body, "on_exit", ctx)
        if on_exit is not None and on_exit != "shutdown":
            raise UsageError(f"{path}:{body.key_lines['on_exit']}: on_exit supports only 'shutdown', got '{on_exit}'.")
        spec.shutdown_on_exit = on_exit == "shutdown"
        spec.sigterm_timeout_s = self.number(body, "sigterm_timeout", ctx, 5.0)
        spec.sigkill_timeout_s = self.number(body, "sigkill_timeout", ctx, 5.0)
        spec.cwd = self.text(body, "cwd", ctx)
        spec.env, spec.unset_env = dict(scope.env), list(scope.unset_env)
        for item, line in self.mappings(body, "env", path, ("name", "value")):
            item_ctx = replace(ctx, where=f"{path}:{line}")
            spec.env[self.text(item, "name", item_ctx)] = self.text(item, "value", item_ctx) or ""
        prefix = self.text(body, "launch-prefix", ctx)
        if prefix:
            spec.cmd = shlex.split(prefix) + spec.cmd
        base = spec.label
        count = self.labels.get(base, 0) + 1
        self.labels[base] = count
        spec.label = base if count == 1 else f"{base}-{count}"
        self.plan.processes.append(spec)

    def tag_node(self, body: LMap, path: Path, ctx: SubstitutionContext, scope: _Scope, depth: int) -> None:
        pkg, exe = self.text(body, "pkg", ctx), self.text(body, "exec", ctx)
        name = self.text(body, "name", ctx) or ""
        namespace = _join_namespace(scope.namespace, self.text(body, "namespace", ctx) or "")
        spec = ProcessSpec(kind="node", label=name or exe, cmd=[], where=ctx.where, pkg=pkg, exec=exe,
                           node_name=name, namespace=namespace, remaps=dict(scope.remaps))
        for item, line in self.mappings(body, "param", path, ("name", "value", "from")):
            item_ctx = replace(ctx, where=f"{path}:{line}")
            if "from" in item:
                spec.params_files.append(self.params_file(self.text(item, "from", item_ctx), path, item_ctx))
            elif "name" in item and "value" in item:
                value = item["value"]
                spec.params[self.text(item, "name", item_ctx)] = (
                    _yaml_text(value) if not isinstance(value, str) else self.text(item, "value", item_ctx))
            else:
                raise UsageError(f"{path}:{line}: a 'param' item needs 'name' and 'value', or 'from' (a YAML file).")
        for item, line in self.mappings(body, "remap", path, ("from", "to")):
            item_ctx = replace(ctx, where=f"{path}:{line}")
            if "from" not in item or "to" not in item:
                raise UsageError(f"{path}:{line}: a 'remap' item needs 'from' and 'to'.")
            spec.remaps[self.text(item, "from", item_ctx)] = self.text(item, "to", item_ctx)
        ros = ["--ros-args"]
        if name:
            ros += ["-r", f"__node:={name}"]
        if namespace != "/":
            ros += ["-r", f"__ns:={namespace}"]
        for params_file in spec.params_files:
            ros += ["--params-file", params_file]
        for key, value in spec.params.items():
            ros += ["-p", f"{key}:={value}"]
        for source, target in spec.remaps.items():
            ros += ["-r", f"{source}:={target}"]
        ros += shlex.split(self.text(body, "ros_args", ctx) or "")
        spec.cmd = [sys.executable, "-m", "robomatrix.launch.run_node", exe,
                    *shlex.split(self.text(body, "args", ctx) or ""), *ros]
        self.process_common(body, path, ctx, scope, spec)

    def params_file(self, text: str, path: Path, ctx: SubstitutionContext) -> str:
        candidate = Path(text)
        if not candidate.is_absolute() and (path.parent / candidate).is_file():
            candidate = path.parent / candidate
        if not candidate.is_file():
            raise UsageError(f"{ctx.where}: parameters file '{text}' does not exist.")
        return str(candidate.resolve())

    def tag_executable(self, body: LMap, path: Path, ctx: SubstitutionContext, scope: _Scope, depth: int) -> None:
        cmd_text = self.text(body, "cmd", ctx)
        extra = self.text(body, "args", ctx) or ""
        if truth(ctx, self.text(body, "shell", ctx, "false")):
            cmd = ["/bin/sh", "-c", f"{cmd_text} {extra}".strip()]
        else:
            cmd = shlex.split(cmd_text) + shlex.split(extra)
        if not cmd:
            raise UsageError(f"{ctx.where}: 'cmd' is empty.")
        label = self.text(body, "name", ctx) or Path(cmd[0]).name
        self.process_common(body, path, ctx, scope, ProcessSpec(kind="executable", label=label, cmd=cmd, where=ctx.where))


def parse_launch_file(path: str | Path, cli_args: dict[str, str] | list[str] | None = None) -> LaunchPlan:
    """Parse and resolve a YAML launch file. `cli_args`: `{'seed': '3'}` or `['seed:=3']`.
    Raises UsageError (file:line) for malformed files, unknown tags, missing or undeclared arguments."""
    if isinstance(cli_args, list):
        cli_args = parse_cli_arguments(cli_args)
    cli_args = dict(cli_args or {})
    path = Path(path)
    parser = _Parser(cli_args)
    parser.plan = LaunchPlan(file=path)
    parser.parse_file(path, _Scope(variables={}), depth=0)
    declared = [a.name for a in parser.plan.arguments]
    for name in cli_args:
        if name not in declared:
            hint = closest(name, declared)
            raise UsageError(f"Unknown launch argument '{name}'." + (f" Did you mean '{hint}'?" if hint else "")
                             + f" {path.name} declares: {', '.join(declared) or '(none)'}.")
    return parser.plan
