"""One thread per transport that waits on every DDS reader and hands samples on.

A Cyclone `WaitSet` holds one `ReadCondition` per reader plus a guard condition used to
wake the thread (new reader, shutdown). The wait releases the GIL; when a condition
triggers, the thread takes that reader's samples (under the loop's lock, so a reader
cannot be deleted mid-take), then calls the handlers without the lock.

Handlers run on this thread: they must be short and must never wait for another
sample (the node's `deliver` only enqueues; service replies complete futures).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cyclonedds.core import (
    DDSException,
    Entity,
    GuardCondition,
    InstanceState,
    ReadCondition,
    SampleState,
    ViewState,
    WaitSet,
)
from cyclonedds.util import duration

from robomatrix.comm.log import comm_logger

_ANY_SAMPLE = SampleState.Any | ViewState.Any | InstanceState.Any
_TAKE_BATCH = 64


def delete_entity(entity: Entity | None) -> None:
    """Delete a cyclonedds entity now (and its children), not whenever Python collects it. Idempotent."""
    if entity is None:
        return
    ref = getattr(entity, "_ref", None)
    if ref is not None and ref in Entity._entities:
        del Entity._entities[ref]
        entity._delete(ref)


class _Entry:
    __slots__ = ("reader", "condition", "sample_type", "handler", "closed", "label")

    def __init__(self, reader, condition, sample_type, handler, label):
        self.reader, self.condition, self.sample_type = reader, condition, sample_type
        self.handler, self.label, self.closed = handler, label, False


class ReaderLoop:
    """Dispatches samples of every attached reader to its handler, on one named thread."""

    def __init__(self, participant, name: str = "robomatrix-dds-reader"):
        self._lock = threading.RLock()
        self._waitset = WaitSet(participant)
        self._guard = GuardCondition(participant)
        self._waitset.attach(self._guard)
        self._entries: list[_Entry] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def add(self, reader, sample_type: type, handler: Callable[[Any], None], label: str) -> _Entry:
        """Call `handler(sample)` for each valid sample of `sample_type` `reader` receives."""
        condition = ReadCondition(reader, _ANY_SAMPLE)
        entry = _Entry(reader, condition, sample_type, handler, label)
        with self._lock:
            if self._stopping:
                delete_entity(condition)
                raise RuntimeError("the dds transport is shut down")
            self._waitset.attach(condition)
            self._entries = [*self._entries, entry]
        self._guard.set(True)  # samples may already be waiting
        return entry

    def remove(self, entry: _Entry) -> None:
        """Stop dispatching for `entry` and delete its condition and reader. Idempotent."""
        with self._lock:
            if entry.closed:
                return
            entry.closed = True
            self._entries = [e for e in self._entries if e is not entry]
            try:
                self._waitset.detach(entry.condition)
            except DDSException:
                pass  # already gone with the participant
            delete_entity(entry.condition)
            delete_entity(entry.reader)

    def _take_ready(self) -> list[tuple[_Entry, list]]:
        batches = []
        with self._lock:
            for entry in self._entries:
                try:
                    if not entry.condition.is_triggered():
                        continue
                    samples = []
                    while True:
                        got = entry.reader.take(_TAKE_BATCH, condition=entry.condition)
                        samples.extend(got)
                        if len(got) < _TAKE_BATCH:
                            break
                except DDSException as exc:
                    if not entry.closed and not self._stopping:
                        comm_logger().warning(f"DDS read failed on '{entry.label}': {exc}", once=True)
                    continue
                except Exception as exc:  # a malformed sample from a foreign writer
                    comm_logger().warning(f"Dropped undecodable data on '{entry.label}': {exc}",
                                          throttle_duration_sec=5.0)
                    continue
                if samples:
                    batches.append((entry, samples))
        return batches

    def _run(self) -> None:
        while not self._stopping:
            try:
                self._waitset.wait(duration(seconds=1))
            except DDSException:
                if self._stopping:
                    return
                raise
            if self._stopping:
                return
            self._guard.set(False)
            for entry, samples in self._take_ready():
                for sample in samples:
                    if entry.closed:
                        break
                    if not isinstance(sample, entry.sample_type):
                        continue  # instance-state notices (a writer went away) carry no data
                    try:
                        entry.handler(sample)
                    except Exception as exc:  # one bad handler must not stop every topic
                        comm_logger().error(f"Delivery on '{entry.label}' failed: {type(exc).__name__}: {exc}",
                                            throttle_duration_sec=5.0)

    def stop(self) -> None:
        """Stop the thread (joined unless called from it) and delete every condition and reader."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        self._guard.set(True)
        if threading.current_thread() is not self._thread:
            self._thread.join(5.0)
        with self._lock:
            for entry in list(self._entries):
                self.remove(entry)
            for entity in (self._guard, self._waitset):
                delete_entity(entity)
