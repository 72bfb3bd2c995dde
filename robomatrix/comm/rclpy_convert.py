"""Field-by-field conversion between our message classes and rclpy's generated ones.

Pure Python, no ROS 2 import: the `rclpy` transport passes the rclpy classes in, and the
tests use stand-ins. Our classes (`robomatrix.msgs`) mirror the ROS 2 definitions field
for field, so conversion walks our dataclass fields and:
- nested messages recurse (the rclpy class comes from the default value rclpy puts in
  that field, or from `resolve(ros_type_name)` for sequences of messages);
- `sequence<uint8>` (image data) becomes `array.array('B')` one way (rclpy's fast path:
  no per-byte validation) and `bytes` the other;
- other sequences and arrays become lists (rclpy stores them as array.array / numpy).
"""
from __future__ import annotations

import array
import dataclasses
from collections.abc import Callable
from functools import cache
from typing import Any

from cyclonedds.idl import IdlStruct
from cyclonedds.idl._type_normalize import get_extended_type_hints
from cyclonedds.idl.types import array as idl_array
from cyclonedds.idl.types import sequence, uint8

# field kinds
_PLAIN, _BYTES, _LIST, _MESSAGE, _MESSAGE_LIST = range(5)


def _kind(annotation) -> tuple[int, type | None]:
    if isinstance(annotation, type) and issubclass(annotation, IdlStruct):
        return _MESSAGE, annotation
    if isinstance(annotation, (sequence, idl_array)):
        sub = annotation.subtype
        if isinstance(annotation, sequence) and sub is uint8:
            return _BYTES, None
        if isinstance(sub, type) and issubclass(sub, IdlStruct):
            return _MESSAGE_LIST, sub
        return _LIST, None
    return _PLAIN, None


@cache
def _fields(cls: type) -> tuple[tuple[str, int, type | None], ...]:
    hints = get_extended_type_hints(cls)
    return tuple((f.name, *_kind(hints[f.name])) for f in dataclasses.fields(cls))


def our_ros_name(cls: type) -> str:
    """'sensor_msgs::msg::dds_::Image_' → 'sensor_msgs/msg/Image' (services: '.../srv/Trigger_Request')."""
    pkg, kind, _dds, name = cls.__idl_typename__.split("::")
    return f"{pkg}/{kind}/{name[:-1] if name.endswith('_') else name}"


def to_ros(msg: Any, ros_cls: type, resolve: Callable[[str], type] | None = None) -> Any:
    """An instance of the rclpy class `ros_cls` with the values of our message `msg`."""
    out = ros_cls()
    for name, kind, sub in _fields(type(msg)):
        value = getattr(msg, name)
        if kind == _MESSAGE:
            value = to_ros(value, type(getattr(out, name)), resolve)
        elif kind == _BYTES:
            value = array.array("B", bytes(value) if not isinstance(value, (bytes, bytearray)) else value)
        elif kind == _LIST:
            value = list(value)
        elif kind == _MESSAGE_LIST:
            if resolve is None:
                raise TypeError(f"converting {type(msg).__name__}.{name} needs `resolve` for '{our_ros_name(sub)}'")
            item_cls = resolve(our_ros_name(sub))
            value = [to_ros(v, item_cls, resolve) for v in value]
        setattr(out, name, value)
    return out


def from_ros(ros_msg: Any, cls: type) -> Any:
    """Our message class `cls` with the values of the rclpy message `ros_msg`."""
    values = {}
    for name, kind, sub in _fields(cls):
        value = getattr(ros_msg, name)
        if kind == _MESSAGE:
            value = from_ros(value, sub)
        elif kind == _BYTES:
            value = bytes(value)
        elif kind == _LIST:
            value = value.tolist() if hasattr(value, "tolist") else list(value)
        elif kind == _MESSAGE_LIST:
            value = [from_ros(v, sub) for v in value]
        values[name] = value
    return cls(**values)
