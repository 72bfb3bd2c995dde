"""MCAP logs with ROS 2 schemas: what a run published, readable by Foxglove, `mcap`, rosbag2 tools
and `rosbags`.

    with McapLog("run.mcap") as log:
        log.write("/odom", odometry_msg, stamp_s=1.25)
        log.write_json("/robomatrix/plan", plan, stamp_s=0.0)    # std_msgs/String with JSON

Messages are `robomatrix.msgs` classes (ROS 2 field names and types), encoded as CDR by
`mcap_ros2` from the `.msg` text that `robomatrix.logs.schemas` generates from the same classes.
Log and publish times are the messages' stamps (simulated time in lock-step runs), so the
timeline matches the header stamps.

Size: chunks are zstd-compressed, and image topics (`sensor_msgs/Image`) are thinned to at most
one message per `image_period_s` per topic (default 0.2 s: 5 Hz). Measured: a 160x120 RGB + depth
stream at 5 Hz plus state and commands at 20 Hz costs about 160 kB per simulated second (the
float32 depth compresses worst); at 640x480 about 16x that.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcap.writer import CompressionType
from mcap_ros2.writer import Writer

from robomatrix.logs.schemas import msg_definition
from robomatrix.msgs import Image, String, ros_type_name


class McapLog:
    """An MCAP file being written; see the module docstring. Not thread-safe (one writer thread)."""

    def __init__(self, path, *, image_period_s: float = 0.2, compression: str = "zstd",
                 metadata: dict[str, str] | None = None):
        if not image_period_s >= 0:
            raise ValueError(f"McapLog image_period_s must be >= 0, got {image_period_s!r}")
        if compression not in ("zstd", "lz4", "none"):
            raise ValueError(f"McapLog compression must be 'zstd', 'lz4' or 'none', got {compression!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.image_period_s = float(image_period_s)
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed in close())
        kind = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4, "none": CompressionType.NONE}[compression]
        self._writer = Writer(self._file, compression=kind)
        self._schemas: dict[type, Any] = {}
        self._last_image_s: dict[str, float] = {}
        self._sequence: dict[str, int] = {}
        self.counts: dict[str, int] = {}  # topic → messages written
        self.closed = False
        if metadata:
            self._writer.add_metadata("robomatrix", {k: str(v) for k, v in metadata.items()})

    def _schema(self, msg_type: type):
        schema = self._schemas.get(msg_type)
        if schema is None:
            name = ros_type_name(msg_type)
            schema = self._schemas[msg_type] = self._writer.register_msgdef(name, msg_definition(msg_type))
        return schema

    def write(self, topic: str, msg: Any, stamp_s: float) -> bool:
        """Log `msg` on `topic` at `stamp_s` seconds; returns False when an image was thinned out."""
        if self.closed:
            raise RuntimeError(f"McapLog {self.path} is closed")
        if isinstance(msg, Image) and self.image_period_s > 0:
            last = self._last_image_s.get(topic)
            if last is not None and stamp_s - last < self.image_period_s - 1e-9:
                return False
            self._last_image_s[topic] = stamp_s
        t_ns = max(0, int(round(stamp_s * 1e9)))
        seq = self._sequence.get(topic, 0)
        self._sequence[topic] = seq + 1
        self._writer.write_message(topic, self._schema(type(msg)), msg, log_time=t_ns, publish_time=t_ns,
                                   sequence=seq)
        self.counts[topic] = self.counts.get(topic, 0) + 1
        return True

    def write_json(self, topic: str, message: Any, stamp_s: float) -> bool:
        """Log one of the stack's JSON messages (`robomatrix.messages`) or a plain dict as std_msgs/String."""
        data = message.to_json() if hasattr(message, "to_json") else json.dumps(message, separators=(",", ":"))
        return self.write(topic, String(data=data), stamp_s)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._writer.finish()
            finally:
                self._file.close()

    def __enter__(self) -> McapLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
