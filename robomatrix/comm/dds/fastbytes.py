"""Bulk (de)serialisation of `sequence<uint8>` fields (images, compressed data).

Stock cyclonedds packs a `sequence[uint8]` element by element (`struct.pack_into`
with one argument per byte: ~30 ms for a 640x480x3 image) and decodes it into a list
of ints. `prepare_type(cls)` replaces, for one IdlStruct class and the structs it
contains, each uint8-sequence machine with `BulkUint8SequenceMachine`, which writes
the same bytes (uint32 length, then the raw bytes; XCDR1 and XCDR2 alike, uint8 needs
no alignment) with a single copy, and decodes to `bytes`.

It changes nothing for other classes: the replacement lives in the class's own
(`cls.__idl__`) machines, built once and cached by cyclonedds. Serialising accepts
bytes, bytearray, memoryview, any C-contiguous buffer (numpy uint8 arrays) or a list
of ints. `tests/test_msgs_wire.py` proves the bytes equal stock cyclonedds' and
rosbags' encoding.
"""
from __future__ import annotations

import threading

from cyclonedds.idl import IdlStruct
from cyclonedds.idl._machinery import (
    ArrayMachine,
    InstanceMachine,
    OptionalMachine,
    PlainCdrV2SequenceOfPrimitiveMachine,
    SequenceMachine,
    StructMachine,
)
from cyclonedds.idl._support import DeserializeKind, SerializeKind
from cyclonedds.idl.types import uint8

_UINT8_CODE = "B"


class BulkUint8SequenceMachine(PlainCdrV2SequenceOfPrimitiveMachine):
    """`sequence<uint8>` as one byte copy each way; same wire bytes as the stock machine."""

    def __init__(self, max_length=None):
        super().__init__(uint8, max_length=max_length)

    def serialize(self, buffer, value, serialize_kind=SerializeKind.DataSample, key_enabled=None):
        if isinstance(value, (bytes, bytearray)):
            raw = value
        elif isinstance(value, list):
            raw = bytes(value)  # ValueError for ints outside 0..255, like struct would
        else:
            raw = memoryview(value).cast("B")  # numpy arrays, memoryviews: no copy yet
        length = len(raw)
        if self.max_length is not None and length > self.max_length:
            raise ValueError(f"sequence<uint8, {self.max_length}> given {length} bytes")
        buffer.align(4)
        buffer.write("I", 4, length)
        buffer.write_bytes(raw)

    def deserialize(self, buffer, deserialize_kind=DeserializeKind.DataSample, key_enabled=None):
        buffer.align(4)
        length = buffer.read("I", 4)
        start = buffer.tell()
        end = start + length
        if end > len(buffer._bytes):
            raise ValueError(f"sequence<uint8> of {length} bytes runs past the end of the sample")
        data = bytes(memoryview(buffer._bytes)[start:end])
        buffer.seek(end)
        return data

    def default_initialize(self):
        return b""


def _replace(machine):
    """The machine to use instead of `machine` (itself when nothing to change), recursing."""
    if type(machine) is PlainCdrV2SequenceOfPrimitiveMachine and machine.code == _UINT8_CODE \
            and machine.size == 1:
        return BulkUint8SequenceMachine(machine.max_length)
    if isinstance(machine, InstanceMachine):
        prepare_type(machine.type)
    elif isinstance(machine, (SequenceMachine, ArrayMachine, OptionalMachine)):
        machine.submachine = _replace(machine.submachine)
    return machine


_prepared: set[type] = set()
_lock = threading.RLock()


def prepare_type(cls: type) -> type:
    """Give `cls` (an IdlStruct) and its nested structs bulk uint8-sequence machines.

    Idempotent and thread-safe; returns `cls`. Call it before the first (de)serialisation
    that matters (the dds transport calls it when it creates a topic)."""
    if not (isinstance(cls, type) and issubclass(cls, IdlStruct)):
        raise TypeError(f"prepare_type expects an IdlStruct class, got {cls!r}")
    with _lock:
        if cls in _prepared:
            return cls
        _prepared.add(cls)  # before recursing: a recursive type must not loop
        idl = cls.__idl__
        idl.populate()
        for machine in (idl.v1_machine, idl.v2_machine):
            if isinstance(machine, StructMachine):
                members = machine.members_machines
                for name in list(members):
                    members[name] = _replace(members[name])
            else:  # appendable/mutable XCDR2 structs keep their own member list
                for member in getattr(machine, "members", []) or []:
                    if hasattr(member, "machine"):
                        member.machine = _replace(member.machine)
                if hasattr(machine, "members_machines"):
                    members = machine.members_machines
                    for name in list(members):
                        members[name] = _replace(members[name])
    return cls


def is_prepared(cls: type) -> bool:
    return cls in _prepared
