"""Node loggers: one line per message, `[LEVEL] [node_name]: text`, on stderr.

The level comes from `--ros-args --log-level debug` (all loggers) or
`--log-level node_name:=debug` (one), else `ROBOMATRIX_LOG_LEVEL`, else info.
"""
from __future__ import annotations

import os
import sys
import threading
import time

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "fatal": 50}
_write_lock = threading.Lock()


def default_level() -> str:
    level = os.environ.get("ROBOMATRIX_LOG_LEVEL", "info").lower()
    return {"warn": "warning"}.get(level, level) if level in (*LEVELS, "warn") else "info"


class Logger:
    """rclpy-shaped logger: `debug/info/warning/warn/error/fatal(text, once=False, throttle_duration_sec=None)`."""

    def __init__(self, name: str, level: str | None = None, stream=None):
        self.name = name
        self._level = LEVELS[level or default_level()]
        self._stream = stream
        self._once: set[str] = set()
        self._last: dict[str, float] = {}

    def set_level(self, level: str) -> None:
        level = {"warn": "warning"}.get(level.lower(), level.lower())
        if level not in LEVELS:
            raise ValueError(f"Unknown log level {level!r}; valid: {', '.join(LEVELS)}")
        self._level = LEVELS[level]

    def get_effective_level(self) -> str:
        return next(name for name, value in LEVELS.items() if value == self._level)

    def is_enabled_for(self, level: str) -> bool:
        return LEVELS[level] >= self._level

    def get_child(self, suffix: str) -> Logger:
        child = Logger(f"{self.name}.{suffix}", stream=self._stream)
        child._level = self._level
        return child

    def log(self, level: str, text: str, once: bool = False, throttle_duration_sec: float | None = None) -> bool:
        """Write one line if enabled; returns whether it was written."""
        if LEVELS[level] < self._level:
            return False
        text = str(text)
        if once:
            if text in self._once:
                return False
            self._once.add(text)
        if throttle_duration_sec:
            now = time.monotonic()
            if now - self._last.get(text, -float("inf")) < throttle_duration_sec:
                return False
            self._last[text] = now
        line = f"[{level.upper() if level != 'warning' else 'WARN'}] [{self.name}]: {text}\n"
        stream = self._stream or sys.stderr
        with _write_lock:
            try:
                stream.write(line)
                stream.flush()
            except (ValueError, OSError):  # stderr closed at interpreter exit
                return False
        return True

    def debug(self, text, **kw) -> bool:
        return self.log("debug", text, **kw)

    def info(self, text, **kw) -> bool:
        return self.log("info", text, **kw)

    def warning(self, text, **kw) -> bool:
        return self.log("warning", text, **kw)

    warn = warning

    def error(self, text, **kw) -> bool:
        return self.log("error", text, **kw)

    def fatal(self, text, **kw) -> bool:
        return self.log("fatal", text, **kw)


_internal = Logger("robomatrix.comm")


def comm_logger() -> Logger:
    """The logger of the comm layer itself (QoS mismatches, dropped work)."""
    return _internal
