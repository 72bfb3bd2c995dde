"""ROS 2 launch substitutions: `$(var name)`, `$(env NAME [default])`, `$(find-pkg-share pkg)`, ...

The syntax is ROS 2's (launch frontend): `$(name arg ...)`, arguments split on spaces,
single- or double-quoted arguments kept whole, substitutions nest (`$(var $(env KEY))`).
"""
from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from robomatrix.errors import UsageError, unknown_name

PACKAGE = "robomatrix"


@dataclass
class SubstitutionContext:
    """What substitutions read: launch configurations and the file being parsed."""

    variables: dict[str, str] = field(default_factory=dict)   # launch configurations (arg, let)
    launch_file: Path = Path(".")
    where: str = ""                                           # 'file:line' for error messages

    def fail(self, problem: str) -> UsageError:
        return UsageError(f"{self.where}: {problem}")


def package_share(pkg: str) -> Path:
    """The share directory of `pkg`: an installed `share/<pkg>` (AMENT_PREFIX_PATH, then this
    Python's prefix), else, for robomatrix, the source tree holding package.xml and launch/."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    prefixes += [sys.prefix]
    for prefix in prefixes:
        candidate = Path(prefix) / "share" / pkg
        if (candidate / "package.xml").is_file():
            return candidate
    if pkg == PACKAGE:
        source_root = Path(__file__).resolve().parents[2]
        if (source_root / "package.xml").is_file():
            return source_root
    raise UsageError(f"Package '{pkg}' not found: no share/{pkg} under AMENT_PREFIX_PATH or {sys.prefix}.")


def _var(ctx: SubstitutionContext, args: list[str]) -> str:
    _arity(ctx, "var", args, 1, 1)
    name = args[0]
    if name not in ctx.variables:
        raise ctx.fail(str(unknown_name("launch configuration", name, ctx.variables))
                       + " Declare it with an 'arg' or 'let' first.")
    return ctx.variables[name]


def _env(ctx: SubstitutionContext, args: list[str]) -> str:
    _arity(ctx, "env", args, 1, 2)
    value = os.environ.get(args[0], args[1] if len(args) > 1 else None)
    if value is None:
        raise ctx.fail(f"environment variable '{args[0]}' is not set; set it or write $(env {args[0]} DEFAULT).")
    return value


def _optenv(ctx: SubstitutionContext, args: list[str]) -> str:
    _arity(ctx, "optenv", args, 1, 2)
    return os.environ.get(args[0], args[1] if len(args) > 1 else "")


def _find_pkg_share(ctx: SubstitutionContext, args: list[str]) -> str:
    _arity(ctx, "find-pkg-share", args, 1, 1)
    try:
        return str(package_share(args[0]))
    except UsageError as exc:
        raise ctx.fail(str(exc)) from None


def _find_pkg_prefix(ctx: SubstitutionContext, args: list[str]) -> str:
    share = Path(_find_pkg_share(ctx, args))
    return str(share.parent.parent if share.parent.name == "share" else share)


def truth(ctx: SubstitutionContext, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ctx.fail(f"expected a boolean (true/false/1/0), got '{text}'.")


def _boolean(fn: Callable[[SubstitutionContext, list[str]], bool], lo: int, hi: int, name: str):
    def sub(ctx: SubstitutionContext, args: list[str]) -> str:
        _arity(ctx, name, args, lo, hi)
        return "true" if fn(ctx, args) else "false"
    return sub


SUBSTITUTIONS: dict[str, Callable[[SubstitutionContext, list[str]], str]] = {
    "var": _var,
    "env": _env,
    "optenv": _optenv,
    "find-pkg-share": _find_pkg_share,
    "find-pkg-prefix": _find_pkg_prefix,
    "dirname": lambda ctx, args: _arity(ctx, "dirname", args, 0, 0) or str(ctx.launch_file.parent.resolve()),
    "filename": lambda ctx, args: _arity(ctx, "filename", args, 0, 0) or ctx.launch_file.name,
    "anon": lambda ctx, args: _arity(ctx, "anon", args, 1, 1) or f"{args[0]}_{secrets.token_hex(4)}",
    "not": _boolean(lambda ctx, a: not truth(ctx, a[0]), 1, 1, "not"),
    "and": _boolean(lambda ctx, a: all(truth(ctx, x) for x in a), 1, 99, "and"),
    "or": _boolean(lambda ctx, a: any(truth(ctx, x) for x in a), 1, 99, "or"),
    "equals": _boolean(lambda ctx, a: a[0] == a[1], 2, 2, "equals"),
    "not-equals": _boolean(lambda ctx, a: a[0] != a[1], 2, 2, "not-equals"),
}


def _arity(ctx: SubstitutionContext, name: str, args: list[str], lo: int, hi: int) -> None:
    if not lo <= len(args) <= hi:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise ctx.fail(f"$({name} ...) takes {want} argument(s), got {len(args)}: {args}.")
    return None


def substitute(text: str, ctx: SubstitutionContext) -> str:
    """`text` with every `$(...)` replaced; UsageError (file:line) for unknown or malformed ones."""
    if not isinstance(text, str) or "$(" not in text:
        return text
    out, pos = _parse_text(text, 0, ctx, inside=False)
    return out


def _parse_text(text: str, pos: int, ctx: SubstitutionContext, inside: bool) -> tuple[str, int]:
    """Literal text with substitutions until the end (or, inside one, until ' ' or ')')."""
    parts: list[str] = []
    while pos < len(text):
        if text.startswith("$(", pos):
            value, pos = _parse_substitution(text, pos + 2, ctx)
            parts.append(value)
        elif inside and text[pos] in " )":
            break
        elif inside and text[pos] in "'\"":
            quote = text[pos]
            end = text.find(quote, pos + 1)
            if end < 0:
                raise ctx.fail(f"unterminated quote in '{text}'.")
            inner, _ = _parse_text(text[pos + 1:end], 0, ctx, inside=False)
            parts.append(inner)
            pos = end + 1
        else:
            parts.append(text[pos])
            pos += 1
    return "".join(parts), pos


def _parse_substitution(text: str, pos: int, ctx: SubstitutionContext) -> tuple[str, int]:
    end_name = pos
    while end_name < len(text) and text[end_name] not in " )":
        end_name += 1
    name = text[pos:end_name]
    if name not in SUBSTITUTIONS:
        raise ctx.fail(str(unknown_name("substitution", name, SUBSTITUTIONS)) + " Write $(name arg ...).")
    pos = end_name
    args: list[str] = []
    while True:
        while pos < len(text) and text[pos] == " ":
            pos += 1
        if pos >= len(text):
            raise ctx.fail(f"unclosed '$({name}' in '{text}': add ')'.")
        if text[pos] == ")":
            return SUBSTITUTIONS[name](ctx, args), pos + 1
        arg, pos = _parse_text(text, pos, ctx, inside=True)
        args.append(arg)
