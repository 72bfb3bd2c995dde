"""ROS 2 services over DDS, laid out as rmw_cyclonedds does.

A service `/reset` of type `std_srvs/srv/Trigger` is two topics:
- requests on `rq/resetRequest`, type `std_srvs::srv::dds_::Trigger_Request_`;
- replies on `rr/resetReply`, type `std_srvs::srv::dds_::Trigger_Response_`;
both reliable, volatile, keep-last 10. Each sample starts with the request header —
the client's id (uint64: the instance handle of its request writer, as rmw_cyclonedds
uses) and a sequence number (int64) — followed by the request or response fields. The
server copies the header into its reply; a client accepts only replies with its own id.

Both topics are volatile, so a reply written before the server's reply writer has matched
the client's reply reader is lost for good, and the two sides discover each other's
endpoints at different moments: a client can see the service as ready while the service
does not yet see that client's reader. As in rmw_cyclonedds, a client tags its request
writer and reply reader with USER_DATA `clientid=<id>;` (a service its two endpoints with
`serviceid=<id>;`), and a service holds each reply until its writer has matched the reader
that carries the requester's id — or, for a foreign client without the tag, any reader of
the requester's participant — for at most `REPLY_MATCH_WAIT_S`. `service_is_ready` in turn
needs a request reader and a reply writer of one service.

`wire_types(srv_type)` builds those header-prefixed structs once per service type from
its `Request`/`Response` classes (same DDS type names, the two header fields first).
"""
from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from cyclonedds.idl import make_idl_struct
from cyclonedds.idl._type_normalize import get_extended_type_hints
from cyclonedds.idl.types import int64, uint64
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Policy, Qos
from cyclonedds.sub import DataReader

from robomatrix.comm.dds.fastbytes import prepare_type
from robomatrix.comm.dds.qos import SERVICE_QOS, to_dds_qos
from robomatrix.comm.dds.reader_loop import delete_entity
from robomatrix.comm.dds.transport import DdsTransport, _Endpoint, dds_topic_name
from robomatrix.comm.log import comm_logger
from robomatrix.comm.transport import TransportClient, reply_once

HEADER_FIELDS = ("client_guid", "sequence_number")
# Requests whose reply never came (the caller timed out) are forgotten beyond this many.
MAX_PENDING_REQUESTS = 10_000
# How long a service holds a reply for its writer to match the requester's reply reader.
REPLY_MATCH_WAIT_S = 2.0
# Requesters whose reply reader a service has seen matched, remembered so later replies need no check.
MAX_KNOWN_REQUESTERS = 1_000


def endpoint_tag(qos: Qos | None, key: str) -> str | None:
    """The value of `key=<value>;` in an endpoint's USER_DATA (None when absent)."""
    userdata = None if qos is None else qos[Policy.Userdata]
    if userdata is None:
        return None
    for item in bytes(userdata.data).decode("utf-8", "replace").split(";"):
        name, sep, value = item.partition("=")
        if sep and name.strip() == key:
            return value.strip()
    return None


def _matched(handles, describe) -> list:
    """`describe(handle)` of each matched endpoint's handle; those that went away meanwhile are skipped."""
    found = []
    for handle in handles:
        try:
            endpoint = describe(handle)
        except Exception:
            continue
        if endpoint is not None:
            found.append(endpoint)
    return found


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
        self.tag = uuid.uuid4().hex
        tag = f"{'serviceid' if server else 'clientid'}={self.tag};".encode()
        qos = to_dds_qos(SERVICE_QOS) + Qos(Policy.Userdata(tag))
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
        self._reached: OrderedDict[int, bool] = OrderedDict()  # requesters whose reply reader matched
        self._lock = threading.Lock()
        self._listen(self._on_request)

    def _on_request(self, sample: Any) -> None:
        guid, seq, request = self.request_wire.unwrap(sample)
        info = getattr(sample, "sample_info", None)
        requester = None if info is None else info.publication_handle

        def send(response: Any) -> None:
            if not self.closed and requester is not None:
                self._await_reply_reader(requester)
            if not self.closed:
                self.writer.write(self.response_wire.wrap(guid, seq, response))

        self._deliver(request, reply_once(self.label, send))

    def _await_reply_reader(self, requester: int) -> None:
        """Wait (at most REPLY_MATCH_WAIT_S) until the reply writer has matched the reply
        reader of the client whose request writer is `requester`."""
        with self._lock:
            if requester in self._reached:
                return
        try:
            endpoint = self.reader.get_matched_publication_data(requester)
        except Exception:
            endpoint = None
        if endpoint is None:
            return  # the client went away; its reply has nowhere to go
        client_id, participant = endpoint_tag(endpoint.qos, "clientid"), endpoint.participant_key
        deadline = time.monotonic() + REPLY_MATCH_WAIT_S
        while not self.closed:
            readers = _matched(self.writer.get_matched_subscriptions(),
                               self.writer.get_matched_subscription_data)
            if any(endpoint_tag(r.qos, "clientid") == client_id if client_id is not None
                   else r.participant_key == participant for r in readers):
                with self._lock:
                    self._reached[requester] = True
                    while len(self._reached) > MAX_KNOWN_REQUESTERS:
                        self._reached.popitem(last=False)
                return
            if time.monotonic() >= deadline:
                comm_logger().warning(f"Service '{self.label}': the client's reply reader did not match within "
                                      f"{REPLY_MATCH_WAIT_S:g} s; its reply may be lost", throttle_duration_sec=5.0)
                return
            time.sleep(0.005)


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
        """Our request writer matched a service's request reader, and our reply reader that
        same service's reply writer (told by its `serviceid` tag, or, for a foreign service
        without one, by its participant)."""
        if self.closed:
            return False
        if (self.writer.get_publication_matched_status().current_count == 0
                or self.reader.get_subscription_matched_status().current_count == 0):
            return False
        request_readers = _matched(self.writer.get_matched_subscriptions(),
                                   self.writer.get_matched_subscription_data)
        reply_writers = _matched(self.reader.get_matched_publications(),
                                 self.reader.get_matched_publication_data)
        servers = {(endpoint_tag(r.qos, "serviceid"), r.participant_key) for r in request_readers}
        return any((endpoint_tag(w.qos, "serviceid"), w.participant_key) in servers for w in reply_writers)

    def _release(self) -> None:
        super()._release()
        with self._lock:
            self._pending.clear()
