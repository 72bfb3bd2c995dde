"""Byte compatibility: our messages on the wire are exactly what ROS 2 sends.

For every wire type, our XCDR1 serialisation (with the bulk uint8-sequence path the dds
transport installs) decodes with `rosbags` — an independent ROS 2 CDR implementation,
Humble type store — to the same values, and rosbags' serialisation of those values is
byte-identical and decodes back with our classes. Images are also checked against the
stock cyclonedds element-by-element encoding.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

import robomatrix.comm.dds  # noqa: F401  (installs the bulk uint8-sequence path on our types)
from robomatrix.comm.dds.fastbytes import BulkUint8SequenceMachine, is_prepared, prepare_type
from robomatrix.comm.dds.services import wire_types
from robomatrix.errors import UsageError
from robomatrix.msgs import (
    Bool,
    CameraInfo,
    Clock,
    Empty,
    Float64,
    Header,
    Image,
    JointState,
    Odometry,
    Point,
    PointStamped,
    Pose,
    PoseStamped,
    PoseWithCovariance,
    Quaternion,
    RegionOfInterest,
    String,
    Time,
    Twist,
    TwistWithCovariance,
    Vector3,
    ros_type_name,
)
from robomatrix.msgs.graph import GID16, GID24, gid_layout, guid_of
from robomatrix.msgs.srv import EmptySrv, SetBool, Trigger

# ROS 2 gives an empty structure one uint8 member; std_srvs is not in rosbags' store.
SRV_DEFINITIONS = {
    "std_srvs/srv/Trigger_Request": "uint8 structure_needs_at_least_one_member",
    "std_srvs/srv/Trigger_Response": "bool success\nstring message",
    "std_srvs/srv/SetBool_Request": "bool data",
    "std_srvs/srv/SetBool_Response": "bool success\nstring message",
    "std_srvs/srv/Empty_Request": "uint8 structure_needs_at_least_one_member",
    "std_srvs/srv/Empty_Response": "uint8 structure_needs_at_least_one_member",
}


def _register(store, name: str, text: str) -> None:
    (definition,) = get_types_from_msg(text, "tmp/msg/Tmp").values()
    store.register({name: definition})


@pytest.fixture(scope="module")
def store():
    ts = get_typestore(Stores.ROS2_HUMBLE)
    for name, text in SRV_DEFINITIONS.items():
        _register(ts, name, text)
    return ts


def srv_type_name(cls: type) -> str:
    pkg, kind, _dds, name = cls.__idl_typename__.split("::")
    return f"{pkg}/{kind}/{name.rstrip('_')}"


def _header(sec=1_700_000_123, nanosec=456_789_012, frame="base_link"):
    return Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame)


_RNG = np.random.default_rng(7)
_COV = [float(i) * 0.25 - 3.0 for i in range(36)]
_POSE = Pose(position=Point(x=1.5, y=-2.25, z=0.125), orientation=Quaternion(x=0.1, y=-0.2, z=0.3, w=0.9273618495495703))
_TWIST = Twist(linear=Vector3(x=0.5, y=-0.25, z=1e-9), angular=Vector3(x=-0.0, y=3.0e10, z=-math.pi))

SAMPLES = {
    "String": String(data="put the red can in the box — ünïcode ✓"),
    "String-empty": String(data=""),
    "Bool": Bool(data=True),
    "Float64": Float64(data=-123.456e-7),
    "Empty": Empty(),
    "Time": Time(sec=2_000_000_000, nanosec=999_999_999),
    "Header": _header(frame="camera_color_optical_frame"),
    "Vector3": Vector3(x=1.0, y=-2.5, z=1e300),
    "Point": Point(x=0.1, y=0.2, z=0.3),
    "PointStamped": PointStamped(header=_header(frame="arm_base_link"), point=Point(x=0.18, y=0.0, z=-0.02)),
    "Quaternion": Quaternion(x=0.0, y=0.7071067811865476, z=0.0, w=0.7071067811865476),
    "Pose": _POSE,
    "PoseStamped": PoseStamped(header=_header(frame="map"), pose=_POSE),
    "Twist": _TWIST,
    "PoseWithCovariance": PoseWithCovariance(pose=_POSE, covariance=list(_COV)),
    "TwistWithCovariance": TwistWithCovariance(twist=_TWIST, covariance=list(reversed(_COV))),
    "Image-rgb8": Image(header=_header(frame="camera"), height=3, width=5, encoding="rgb8", is_bigendian=0,
                        step=15, data=bytes(range(45))),
    "Image-odd-sized-mono16": Image(header=_header(), height=1, width=3, encoding="mono16", is_bigendian=1,
                                    step=6, data=b"\x01\x02\x03\x04\x05\xff"),
    "Image-640x480": Image(header=_header(), height=480, width=640, encoding="rgb8", step=1920,
                           data=_RNG.integers(0, 256, 480 * 640 * 3, dtype=np.uint8).tobytes()),
    "Image-empty": Image(),
    "RegionOfInterest": RegionOfInterest(x_offset=10, y_offset=20, height=30, width=40, do_rectify=True),
    "CameraInfo": CameraInfo(header=_header(frame="camera"), height=480, width=640, distortion_model="plumb_bob",
                             d=[0.1, -0.2, 0.001, 0.002, 0.0],
                             k=[600.0, 0.0, 320.0, 0.0, 600.0, 240.0, 0.0, 0.0, 1.0],
                             r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                             p=[600.0, 0.0, 320.0, 0.0, 0.0, 600.0, 240.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                             binning_x=2, binning_y=1,
                             roi=RegionOfInterest(x_offset=1, y_offset=2, height=3, width=4, do_rectify=False)),
    "JointState": JointState(header=_header(), name=["arm_x", "arm_z", "gripper"], position=[0.1, 0.2, 0.03],
                             velocity=[0.0, -1.5, 2.0], effort=[]),
    "Odometry": Odometry(header=_header(frame="odom"), child_frame_id="base_link",
                         pose=PoseWithCovariance(pose=_POSE, covariance=list(_COV)),
                         twist=TwistWithCovariance(twist=_TWIST, covariance=list(_COV))),
    "Clock": Clock(clock=Time(sec=12, nanosec=500_000_000)),
    "Trigger.Request": Trigger.Request(),
    "Trigger.Response": Trigger.Response(success=True, message="reset done"),
    "SetBool.Request": SetBool.Request(data=True),
    "SetBool.Response": SetBool.Response(success=False, message="motor fault: e-stop held"),
    "Empty.Request": EmptySrv.Request(),
    "Empty.Response": EmptySrv.Response(),
}


def type_name(cls: type) -> str:
    return srv_type_name(cls) if "::srv::" in cls.__idl_typename__ else ros_type_name(cls)


def plain(value):
    """Comparable plain values from our classes and from rosbags' (numpy arrays, memoryviews)."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (bytes, bytearray, memoryview)):
        return list(bytes(value))
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("__")}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


def to_rosbags(store, msg):
    """The same message as a rosbags object (nested types looked up by their ROS name)."""
    cls = store.types[type_name(type(msg))]
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name.startswith("__"):
            continue
        value = getattr(msg, f.name)
        if hasattr(type(value), "__idl_typename__"):
            value = to_rosbags(store, value)
        elif isinstance(value, bytes):
            value = np.frombuffer(value, dtype=np.uint8)
        elif isinstance(value, list) and "ndarray" in str(f.type):
            value = np.array(value, dtype=np.float64)  # our float64 sequences and arrays
        kwargs[f.name] = value
    return cls(**kwargs)


@pytest.mark.parametrize("key", list(SAMPLES))
def test_our_bytes_decode_with_rosbags_to_the_same_values(store, key):
    msg = SAMPLES[key]
    raw = msg.serialize()
    assert raw[:4] == b"\x00\x01\x00\x00", "XCDR1 little-endian encapsulation header"
    decoded = store.deserialize_cdr(raw, type_name(type(msg)))
    assert plain(decoded) == plain(msg)


@pytest.mark.parametrize("key", list(SAMPLES))
def test_rosbags_bytes_are_identical_and_decode_with_our_classes(store, key):
    msg = SAMPLES[key]
    theirs = bytes(store.serialize_cdr(to_rosbags(store, msg), type_name(type(msg))))
    ours = msg.serialize()
    # DataWriter pads samples to 4 bytes (as rmw_cyclonedds does); the payload is equal.
    assert ours == theirs[:len(ours)] and not any(theirs[len(ours):])
    back = type(msg).deserialize(theirs)
    assert back == msg


def test_image_data_deserialises_to_bytes_with_one_copy():
    img = SAMPLES["Image-640x480"]
    back = Image.deserialize(img.serialize())
    assert type(back.data) is bytes and back.data == img.data


def test_bulk_path_equals_stock_cyclonedds_encoding():
    """The stock machine (element by element) and ours write the same bytes."""
    from cyclonedds.idl import IdlStruct, make_idl_struct
    from cyclonedds.idl.types import sequence, uint8, uint32

    data = bytes(_RNG.integers(0, 256, 1001, dtype=np.uint8))
    fields = {"before": uint8, "data": sequence[uint8], "after": uint32}
    stock = make_idl_struct("StockBytes", "test::msg::dds_::Bytes_", fields)
    fast = prepare_type(make_idl_struct("FastBytes", "test::msg::dds_::Bytes_", fields))
    assert not is_prepared(stock) and issubclass(fast, IdlStruct)
    for payload in (b"", b"\x07", data):
        expected = stock(before=3, data=list(payload), after=0xDEADBEEF).serialize()
        assert fast(before=3, data=payload, after=0xDEADBEEF).serialize() == expected
        assert fast.deserialize(expected).data == payload
        assert stock.deserialize(expected).data == list(payload)


@pytest.mark.parametrize("form", ["bytes", "bytearray", "memoryview", "numpy-hwc", "list"])
def test_image_data_accepts_any_byte_buffer(form):
    pixels = _RNG.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    data = {"bytes": pixels.tobytes(), "bytearray": bytearray(pixels.tobytes()),
            "memoryview": memoryview(pixels.tobytes()), "numpy-hwc": pixels,
            "list": list(pixels.tobytes())}[form]
    img = Image(height=4, width=6, encoding="rgb8", step=18, data=data)
    reference = dataclasses.replace(img, data=pixels.tobytes()).serialize()
    assert img.serialize() == reference
    assert Image.deserialize(reference).data == pixels.tobytes()


def test_only_uint8_sequences_are_replaced():
    machines = Image.__idl__.v1_machine.members_machines
    assert isinstance(machines["data"], BulkUint8SequenceMachine)
    assert not isinstance(CameraInfo.__idl__.v1_machine.members_machines["d"], BulkUint8SequenceMachine)


@pytest.mark.parametrize("srv_type,request_msg,response_msg", [
    (Trigger, Trigger.Request(), Trigger.Response(success=True, message="pong")),
    (SetBool, SetBool.Request(data=True), SetBool.Response(success=True, message="data=True")),
    (EmptySrv, EmptySrv.Request(), EmptySrv.Response()),
])
def test_service_samples_are_the_request_header_then_the_body(store, srv_type, request_msg, response_msg):
    """rmw_cyclonedds layout: client guid (uint64), sequence number (int64), then the fields."""
    guid, seq = 0x0123_4567_89AB_CDEF, 42
    for wire, body in zip(wire_types(srv_type), (request_msg, response_msg)):
        assert wire.cls.__idl_typename__ == type(body).__idl_typename__
        raw = wire.wrap(guid, seq, body).serialize()
        header = np.array([guid], "<u8").tobytes() + np.array([seq], "<i8").tobytes()
        assert raw[4:20] == header
        assert raw[20:] == body.serialize()[4:]  # 16-byte header keeps the body's alignment
        name = "test_srvs/msg/Wire" + type(body).__name__
        text = "uint64 client_guid\nint64 sequence_number\n" + SRV_DEFINITIONS[type_name(type(body))]
        _register(store, name, text)
        decoded = store.deserialize_cdr(raw, name)
        assert (decoded.client_guid, decoded.sequence_number) == (guid, seq)
        assert wire.unwrap(wire.cls.deserialize(raw)) == (guid, seq, body)


def _entities_info(layout):
    """A participant with two nodes (one without endpoints), GUIDs as rmw_cyclonedds pads them."""
    guid = bytes(range(1, 17))
    return layout.participant(gid=layout.to_gid(guid), node_entities_info_seq=[
        layout.node(node_namespace="/", node_name="hardware_node",
                    reader_gid_seq=[layout.to_gid(bytes([7] * 15 + [4])), layout.to_gid(bytes([8] * 15 + [4]))],
                    writer_gid_seq=[layout.to_gid(bytes([9] * 15 + [3]))]),
        layout.node(node_namespace="/robot/arm", node_name="idle_node"),
    ])


@pytest.mark.parametrize("layout,distro", [(GID16, Stores.ROS2_JAZZY), (GID24, Stores.ROS2_HUMBLE)])
def test_participant_entities_info_matches_rosbags_for_each_distro(layout, distro):
    """ros_discovery_info: Jazzy's 16-byte and Humble's 24-byte Gid, both ways, byte for byte."""
    ts = get_typestore(distro)
    name = "rmw_dds_common/msg/ParticipantEntitiesInfo"
    msg = _entities_info(layout)
    ours = msg.serialize()
    decoded = ts.deserialize_cdr(ours, name)
    assert plain(decoded) == plain(msg)
    assert len(decoded.gid.data) == layout.size and bytes(decoded.gid.data[16:]) == bytes(layout.size - 16)
    assert [n.node_name for n in decoded.node_entities_info_seq] == ["hardware_node", "idle_node"]
    gid_cls, node_cls, info_cls = (ts.types[f"rmw_dds_common/msg/{t}"] for t in
                                   ("Gid", "NodeEntitiesInfo", "ParticipantEntitiesInfo"))

    def gid(g):
        return gid_cls(data=np.frombuffer(g.data, dtype=np.uint8))

    theirs_msg = info_cls(gid=gid(msg.gid), node_entities_info_seq=[
        node_cls(node_namespace=n.node_namespace, node_name=n.node_name,
                 reader_gid_seq=[gid(g) for g in n.reader_gid_seq], writer_gid_seq=[gid(g) for g in n.writer_gid_seq])
        for n in msg.node_entities_info_seq])
    theirs = bytes(ts.serialize_cdr(theirs_msg, name))
    assert ours == theirs[:len(ours)] and not any(theirs[len(ours):])
    assert type(msg).deserialize(theirs) == msg
    assert guid_of(type(msg).deserialize(theirs).node_entities_info_seq[0].writer_gid_seq[0]) == bytes([9] * 15 + [3])


def test_gid_layout_follows_the_ros_distro():
    assert gid_layout({}) is GID16 and gid_layout({"ROS_DISTRO": "jazzy"}) is GID16
    assert gid_layout({"ROS_DISTRO": "humble"}) is GID24
    assert gid_layout({"ROS_DISTRO": "humble", "ROBOMATRIX_ROS_DISTRO": "kilted"}) is GID16
    with pytest.raises(UsageError, match="is not a name"):
        gid_layout({"ROS_DISTRO": "humble;rm"})
    with pytest.raises(ValueError, match="16 bytes"):
        GID16.to_gid(b"short")
