"""ROS 2 services over DDS, laid out as rmw_cyclonedds does.

A service `/reset` of type `std_srvs/srv/Trigger` is two topics:
- requests on `rq/resetRequest`, type `std_srvs::srv::dds_::Trigger_Request_`;
- replies on `rr/resetReply`, type `std_srvs::srv::dds_::Trigger_Response_`;
both reliable, volatile, keep-last 10. Each sample starts with the request header —
the client's id (uint64: the instance handle of its request writer, as rmw_cyclonedds
uses) and a sequence number (int64) — followed by the request or response fields. The
server copies the header into its reply; a client accepts only replies with its own id.

`wire_types(srv_type)` builds those header-prefixed structs once per service type from
its `Request`/`Response` classes (same DDS type names, the two header fields first).
"""
from __future__ import annotations

import dataclasses
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from cyclonedds.idl import make_idl_struct
from cyclonedds.idl._type_normalize import get_extended_type_hints
from cyclonedds.idl.types import int64, uint64
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader

from robomatrix.comm.dds.fastbytes import prepare_type
from robomatrix.comm.dds.qos import SERVICE_QOS, to_dds_qos
from robomatrix.comm.dds.reader_loop import delete_entity
from robomatrix.comm.dds.transport import DdsTransport, _Endpoint, dds_topic_name
from robomatrix.comm.transport import TransportClient, reply_once

HEADER_FIELDS = ("client_guid", "sequence_number")
# Requests whose reply never came (the caller timed out) are forgotten beyond this many.
MAX_PENDING_REQUESTS = 10_000


@dataclasses.dataclass(frozen=True)
class WireType:
    """One header-prefixed wire struct and how to move a body in and out of it."""

    cls: type  # the IdlStruct sent on the wire
    body: type  # the service's Request or Response class
    fields: tuple[str, ...]  # the body's field names, in order

    def wrap(self, guid: int, seq: int, body: Any) -> Any:
        if not isinstance(body, self.body):
            raise TypeError(f"expected {self.body.__name__}, got {type(body).__name__}")
        return self.cls(guid, seq, *(getattr(body, f) for f in self.fields))

    def unwrap(self, sample: Any) -> tuple[int, int, Any]:
        return (sample.client_guid, sample.sequence_number,
                self.body(**{f: getattr(sample, f) for f in self.fields}))


_wire_cache: dict[type, WireType] = {}
_wire_lock = threading.Lock()


def _wire_type(body: type) -> WireType:
    with _wire_lock:
        wire = _wire_cache.get(body)
        if wire is None:
            hints = get_extended_type_hints(body)
            clash = set(hints) & set(HEADER_FIELDS)
            if clash:
                raise TypeError(f"{body.__name__} has fields named like the request header: {sorted(clash)}")
            fields = {"client_guid": uint64, "sequence_number": int64, **hints}
            cls = make_idl_struct(f"{body.__name__}Wire", body.__idl_typename__, fields)
            wire = _wire_cache[body] = WireType(prepare_type(cls), body, tuple(hints))
        return wire


def wire_types(srv_type: type) -> tuple[WireType, WireType]:
    """(request, response) wire structs of a service type (a class with `Request` and `Response`)."""
    for part in ("Request", "Response"):
        if not hasattr(srv_type, part):
            raise TypeError(f"{getattr(srv_type, '__name__', srv_type)!r} is not a service type "
                            f"(no {part} class); see robomatrix.msgs.srv")
    return _wire_type(srv_type.Request), _wire_type(srv_type.Response)


def service_topic_names(name: str) -> tuple[str, str]:
    """('rq/<name>Request', 'rr/<name>Reply') for a ROS service name."""
    return dds_topic_name(name, "rq") + "Request", dds_topic_name(name, "rr") + "Reply"


class _RequestReply(_Endpoint):
    """What both sides of a service hold: a writer and a reader on the request and reply
    topics (reliable, volatile, keep-last 10); `_listen` starts taking samples."""

    def __init__(self, transport: DdsTransport, name: str, srv_type: type, server: bool):
        super().__init__(transport, name)
        self.request_wire, self.response_wire = wire_types(srv_type)
        rq, rr = service_topic_names(name)
        if server:  # requests in, replies out
            (self._read, self._taken), (write, written) = (rq, self.request_wire), (rr, self.response_wire)
        else:
            (self._read, self._taken), (write, written) = (rr, self.response_wire), (rq, self.request_wire)
        qos = to_dds_qos(SERVICE_QOS)
        self.writer = DataWriter(transport.participant, transport._topic(write, written.cls), qos=qos)
        self.reader = DataReader(transport.participant, transport._topic(self._read, self._taken.cls), qos=qos)
        self._entry = None

    def _listen(self, on_sample: Callable[[Any], None]) -> None:
        """Hand every sample the reader takes to `on_sample` (call once the endpoint is set up)."""
        self._entry = self._transport.loop.add(self.reader, self._taken.cls, on_sample, self._read)

    def _release(self) -> None:
        if self._entry is not None:
            self._transport.loop.remove(self._entry)
        delete_entity(self.reader)
        delete_entity(self.writer)


class DdsService(_RequestReply):
    """Server side: `deliver(request, reply)` per request; `reply(response)` sends it back once."""

    def __init__(self, transport: DdsTransport, name: str, srv_type: type, deliver):
        super().__init__(transport, name, srv_type, server=True)
        self._deliver = deliver
        self._listen(self._on_request)

    def _on_request(self, sample: Any) -> None:
        guid, seq, request = self.request_wire.unwrap(sample)

        def send(response: Any) -> None:
            if not self.closed:
                self.writer.write(self.response_wire.wrap(guid, seq, response))

        self._deliver(request, reply_once(self.label, send))


class DdsClient(_RequestReply, TransportClient):
    """Client side: requests carry this client's id and a sequence number; replies are matched by both."""

    def __init__(self, transport: DdsTransport, name: str, srv_type: type):
        super().__init__(transport, name, srv_type, server=False)
        self.guid = self.writer.get_instance_handle() & 0xFFFF_FFFF_FFFF_FFFF
        self._seq = itertools.count(1)
        self._pending: OrderedDict[int, Callable[[Any], None]] = OrderedDict()
        self._lock = threading.Lock()
        self._listen(self._on_reply)

    def send_request(self, request: Any, on_response: Callable[[Any], None]) -> None:
        if self.closed:
            raise RuntimeError(f"request on closed client of '{self.label}'")
        with self._lock:
            seq = next(self._seq)
            sample = self.request_wire.wrap(self.guid, seq, request)
            self._pending[seq] = on_response
            while len(self._pending) > MAX_PENDING_REQUESTS:
                self._pending.popitem(last=False)
        self.writer.write(sample)

    def _on_reply(self, sample: Any) -> None:
        guid, seq, response = self.response_wire.unwrap(sample)
        if guid != self.guid:
            return  # another client's reply
        with self._lock:
            on_response = self._pending.pop(seq, None)
        if on_response is not None and not self.closed:
            on_response(response)

    def service_is_ready(self) -> bool:
        """A server's request reader is matched, and its reply writer matched our reply reader."""
        if self.closed:
            return False
        return (self.writer.get_publication_matched_status().current_count > 0
                and self.reader.get_subscription_matched_status().current_count > 0)

    def _release(self) -> None:
        super()._release()
        with self._lock:
            self._pending.clear()
