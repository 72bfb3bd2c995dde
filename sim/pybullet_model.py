"""Build a PyBullet world from the robot URDF and a SceneSpec, in one physics client.

The same robot description and scene specs as the MuJoCo model (sim/mujoco_model.py); what a URDF
cannot say is added here:
- the planar base: a world-fixed root link, then prismatic `base_x`, prismatic `base_y` and a
  continuous `base_yaw` joint onto base_link (written into a copy of the URDF at load time), driven
  by force-limited velocity motors;
- the gripper mimic: PyBullet ignores <mimic>, so a gear constraint makes the right finger follow
  the left one (ratio -1: equal openings); one force-limited position motor drives the left finger;
- contact and friction settings per body (pads 1.5, objects 0.8; PyBullet multiplies the two
  bodies' coefficients where MuJoCo takes the larger);
- the scene: floor, objects (free rigid bodies), containers (static), the drawer cabinet (a static
  shell and a drawer on a prismatic joint with damping and limits, a vertical handle bar on it).
Nothing attaches objects to the gripper: a grasp is contacts and friction only. Geometry mirrors
sim/mujoco_model.py number for number, so perception's nominal sizes hold on both simulators.
"""
from __future__ import annotations

import math
import os
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from robomatrix.sim.pybullet_render import pb  # imported there with its banner kept off stdout
from robomatrix.sim.scene import CabinetSpec, ContainerSpec, ObjectSpec, SceneSpec

URDF_PATH = Path(__file__).resolve().parent / "assets" / "robomatrix_ep.urdf"
FINGER_TRAVEL_M = 0.05  # left_finger_joint upper limit in the URDF: gripper opening 1.0
PAD_FRICTION = 1.5
OBJECT_FRICTION = 0.8
FLOOR_FRICTION = 0.8
SHELL_T = 0.015  # cabinet shell thickness, m (as in sim/mujoco_model.py)
PLANAR_JOINTS = ("base_x", "base_y", "base_yaw")
ROBOT_JOINTS = ("base_x", "base_y", "base_yaw", "arm_x_joint", "arm_z_joint", "left_finger_joint",
                "right_finger_joint")


@dataclass
class PybulletWorld:
    """Ids of one built world inside physics client `client`."""

    client: int
    robot: int  # multibody id of the robot
    joints: dict[str, int]  # robot joint name → joint index
    links: dict[str, int]  # robot link name → link index (-1 = the root)
    objects: dict[str, int] = field(default_factory=dict)  # scene object name → body id
    containers: dict[str, list[int]] = field(default_factory=dict)  # container name → body ids
    cabinet: int | None = None  # cabinet multibody (joint 0: the drawer slide)
    floor: int = -1


def _inertial(mass: float) -> ET.Element:
    el = ET.Element("inertial")
    ET.SubElement(el, "mass", value=str(mass))
    ET.SubElement(el, "inertia", ixx="1e-6", iyy="1e-6", izz="1e-6", ixy="0", ixz="0", iyz="0")
    return el


def planar_urdf_text(urdf_path: Path = URDF_PATH) -> str:
    """The robot URDF with the planar base joints added: `odom` (root, fixed in the world) →
    base_x (prismatic x) → base_y (prismatic y) → base_yaw (continuous z) → base_link."""
    tree = ET.parse(urdf_path)
    root = tree.getroot()
    for extra in root.findall("mujoco"):
        root.remove(extra)
    for el in root.findall("link"):  # PyBullet gives links without inertia 1 kg: make frames weightless
        if el.find("inertial") is None:
            el.append(_inertial(1e-4))

    def link(name: str) -> ET.Element:
        el = ET.Element("link", name=name)
        el.append(_inertial(0.01))
        return el

    def joint(name: str, kind: str, parent: str, child: str, axis: str) -> ET.Element:
        el = ET.Element("joint", name=name, type=kind)
        ET.SubElement(el, "parent", link=parent)
        ET.SubElement(el, "child", link=child)
        ET.SubElement(el, "origin", xyz="0 0 0")
        ET.SubElement(el, "axis", xyz=axis)
        if kind == "prismatic":
            ET.SubElement(el, "limit", lower="-100", upper="100", effort="1000", velocity="10")
        return el

    new = [link("odom"), link("base_x_link"), link("base_y_link"),
           joint("base_x", "prismatic", "odom", "base_x_link", "1 0 0"),
           joint("base_y", "prismatic", "base_x_link", "base_y_link", "0 1 0"),
           joint("base_yaw", "continuous", "base_y_link", "base_link", "0 0 1")]
    for i, el in enumerate(new):
        root.insert(i, el)
    return ET.tostring(root, encoding="unicode")


_URDF_FILE: str | None = None


def _planar_urdf_file() -> str:
    """The planar URDF written once per process (loadURDF reads files, not strings)."""
    global _URDF_FILE
    if _URDF_FILE is None or not os.path.exists(_URDF_FILE):
        fd, path = tempfile.mkstemp(prefix="robomatrix_ep_planar_", suffix=".urdf")
        with os.fdopen(fd, "w") as f:
            f.write(planar_urdf_text())
        _URDF_FILE = path
    return _URDF_FILE


def yaw_quat(yaw: float) -> list[float]:
    """PyBullet quaternion (x, y, z, w) of a rotation by `yaw` about +z."""
    return [0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]


def _contact(cid: int, body: int, link: int, friction: float, config) -> None:
    pb.changeDynamics(body, link, lateralFriction=friction, spinningFriction=config.spinning_friction,
                      rollingFriction=config.rolling_friction, restitution=0.0, physicsClientId=cid)
    if config.contact_stiffness > 0:  # soft (spring-damper) contacts instead of PyBullet's rigid ones
        pb.changeDynamics(body, link, contactStiffness=config.contact_stiffness,
                          contactDamping=config.contact_damping, physicsClientId=cid)


def _build_robot(cid: int, scene: SceneSpec, config) -> tuple[int, dict[str, int], dict[str, int]]:
    robot = pb.loadURDF(_planar_urdf_file(), [0, 0, 0], [0, 0, 0, 1], useFixedBase=True,
                        flags=pb.URDF_USE_INERTIA_FROM_FILE, physicsClientId=cid)
    joints, links = {}, {"odom": -1}
    for j in range(pb.getNumJoints(robot, physicsClientId=cid)):
        info = pb.getJointInfo(robot, j, physicsClientId=cid)
        joints[info[1].decode()] = j
        links[info[12].decode()] = j
    for j in joints.values():  # no default motors: every actuated joint is commanded below
        pb.setJointMotorControl2(robot, j, pb.VELOCITY_CONTROL, force=0.0, physicsClientId=cid)
        pb.changeDynamics(robot, j, linearDamping=0.0, angularDamping=0.0, jointDamping=0.0, physicsClientId=cid)
    for name in ("left_finger_link", "right_finger_link"):
        _contact(cid, robot, links[name], PAD_FRICTION, config)
        pb.changeDynamics(robot, links[name], jointDamping=0.5, physicsClientId=cid)
    for name in ("base_link", "arm_lift_link"):
        _contact(cid, robot, links[name], 1.0, config)
    # The mimic: right finger = left finger (gear ratio -1 keeps the openings equal).
    gear = pb.createConstraint(robot, joints["left_finger_joint"], robot, joints["right_finger_joint"],
                               pb.JOINT_GEAR, [0, 1, 0], [0, 0, 0], [0, 0, 0], physicsClientId=cid)
    pb.changeConstraint(gear, gearRatio=-1, maxForce=200.0, erp=0.8, physicsClientId=cid)
    x, y, yaw = scene.robot_start
    for name, value in (("base_x", x), ("base_y", y), ("base_yaw", yaw)):
        pb.resetJointState(robot, joints[name], value, physicsClientId=cid)
    return robot, joints, links


def _floor(cid: int, scene: SceneSpec, config) -> int:
    # A thick box, not a plane shape: box-hull contacts are clipped face on face (a full manifold on
    # the first touch); the plane finds one rim point and a dropped can spins over on it.
    col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[15, 15, 0.05], collisionFramePosition=[0, 0, -0.05],
                                  physicsClientId=cid)
    vis = pb.createVisualShape(pb.GEOM_BOX, halfExtents=[15, 15, 0.001], visualFramePosition=[0, 0, -0.001],
                               rgbaColor=list(scene.floor_rgba), physicsClientId=cid)
    body = pb.createMultiBody(0, col, vis, [0, 0, 0], physicsClientId=cid)
    _contact(cid, body, -1, FLOOR_FRICTION, config)
    return body


def prism_vertices(radius: float, height: float, sides: int = 24) -> list[list[float]]:
    """Vertices of a regular prism around a cylinder's axis (z): the can's convex collision hull.
    A polyhedral hull lands flat on its face (full contact manifold); Bullet's implicit cylinder
    touches a plane at one rim point and tips a dropped can over."""
    r = radius / math.cos(math.pi / sides)  # circumscribed: the flats touch the true radius
    return [[r * math.cos(2 * math.pi * (k + 0.5) / sides), r * math.sin(2 * math.pi * (k + 0.5) / sides), z]
            for k in range(sides) for z in (-height / 2, height / 2)]


def _object(cid: int, obj: ObjectSpec, config) -> int:
    if obj.shape == "can":
        col = pb.createCollisionShape(pb.GEOM_MESH, vertices=prism_vertices(obj.size[0], obj.size[1]),
                                      physicsClientId=cid)
        vis = pb.createVisualShape(pb.GEOM_CYLINDER, radius=obj.size[0], length=obj.size[1],
                                   rgbaColor=list(obj.rgba), physicsClientId=cid)
    elif obj.shape == "cube":
        half = [obj.size[0] / 2] * 3
        col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=cid)
        vis = pb.createVisualShape(pb.GEOM_BOX, halfExtents=half, rgbaColor=list(obj.rgba), physicsClientId=cid)
    else:
        col = pb.createCollisionShape(pb.GEOM_SPHERE, radius=obj.size[0], physicsClientId=cid)
        vis = pb.createVisualShape(pb.GEOM_SPHERE, radius=obj.size[0], rgbaColor=list(obj.rgba), physicsClientId=cid)
    x, y, yaw = obj.pose
    body = pb.createMultiBody(obj.mass, col, vis, [x, y, obj.height / 2], yaw_quat(yaw), physicsClientId=cid)
    _contact(cid, body, -1, OBJECT_FRICTION, config)
    pb.changeDynamics(body, -1, linearDamping=0.0, angularDamping=0.0, physicsClientId=cid)
    return body


def _static_boxes(cid: int, boxes, pose, rgba, config, friction: float = 1.0) -> int:
    """One static body made of boxes [(half extents, centre, yaw)] in a frame at `pose` (x, y, yaw)."""
    n = len(boxes)
    halves = [list(b[0]) for b in boxes]
    centres = [list(b[1]) for b in boxes]
    quats = [yaw_quat(b[2]) for b in boxes]
    col = pb.createCollisionShapeArray([pb.GEOM_BOX] * n, halfExtents=halves, collisionFramePositions=centres,
                                       collisionFrameOrientations=quats, physicsClientId=cid)
    vis = pb.createVisualShapeArray([pb.GEOM_BOX] * n, halfExtents=halves, visualFramePositions=centres,
                                    visualFrameOrientations=quats, physicsClientId=cid)
    x, y, yaw = pose
    body = pb.createMultiBody(0, col, vis, [x, y, 0], yaw_quat(yaw), physicsClientId=cid)
    pb.changeVisualShape(body, -1, rgbaColor=list(rgba), physicsClientId=cid)
    _contact(cid, body, -1, friction, config)
    return body


def _container(cid: int, c: ContainerSpec, config) -> list[int]:
    t, h = c.wall_thickness, c.wall_height
    floor_rgba = tuple(v * 0.8 for v in c.rgba[:3]) + (1.0,)  # darker floor of the container
    if c.kind == "box":
        lx, ly = c.inner_size[0] / 2, c.inner_size[1] / 2
        floor = [([lx + t, ly + t, 0.004], [0, 0, 0.004], 0.0)]
        walls = [([t / 2, ly + t, h / 2], [sx * (lx + t / 2), 0, h / 2], 0.0) for sx in (-1, 1)]
        walls += [([lx, t / 2, h / 2], [0, sy * (ly + t / 2), h / 2], 0.0) for sy in (-1, 1)]
        bottom = _static_boxes(cid, floor, c.pose, floor_rgba, config)
    else:  # round bin: a bottom disc and a ring of 16 wall segments
        r = c.inner_size[0] / 2
        col = pb.createCollisionShape(pb.GEOM_CYLINDER, radius=r + t, height=0.008, physicsClientId=cid)
        vis = pb.createVisualShape(pb.GEOM_CYLINDER, radius=r + t, length=0.008, rgbaColor=list(floor_rgba),
                                   physicsClientId=cid)
        x, y, _ = c.pose
        bottom = pb.createMultiBody(0, col, vis, [x, y, 0.004], physicsClientId=cid)
        _contact(cid, bottom, -1, 1.0, config)
        n = 16
        half_chord = (r + t) * math.tan(math.pi / n) + 0.002
        walls = []
        for k in range(n):
            a = 2 * math.pi * k / n
            walls.append(([t / 2, half_chord, h / 2], [(r + t / 2) * math.cos(a), (r + t / 2) * math.sin(a), h / 2], a))
    return [bottom, _static_boxes(cid, walls, c.pose, c.rgba, config)]


def _box_link(cid: int, boxes, rgba) -> tuple[int, int]:
    n = len(boxes)
    halves, centres = [list(b[0]) for b in boxes], [list(b[1]) for b in boxes]
    col = pb.createCollisionShapeArray([pb.GEOM_BOX] * n, halfExtents=halves, collisionFramePositions=centres,
                                       physicsClientId=cid)
    vis = pb.createVisualShapeArray([pb.GEOM_BOX] * n, halfExtents=halves, visualFramePositions=centres,
                                    physicsClientId=cid)
    return col, vis


def _cabinet(cid: int, cab: CabinetSpec, config) -> int:
    """A static shell (base) with the drawer as link 0 on a prismatic joint along the cabinet's +x,
    and the front panel, handle bar and its standoffs as fixed links 1..4 (each its own colour)."""
    d, w, hgt = cab.body_size
    lo, hi = cab.drawer_height
    t = SHELL_T
    shell = [
        ([d / 2, w / 2, (lo - 0.004) / 2], [0, 0, (lo - 0.004) / 2]),  # plinth under the drawer
        ([d / 2, w / 2, (hgt - hi - 0.004) / 2], [0, 0, (hgt + hi + 0.004) / 2]),  # top block above it
        ([d / 2, t / 2, (hi - lo) / 2 + 0.004], [0, w / 2 - t / 2, (lo + hi) / 2]),  # side
        ([d / 2, t / 2, (hi - lo) / 2 + 0.004], [0, -w / 2 + t / 2, (lo + hi) / 2]),  # side
        ([t / 2, w / 2 - t, (hi - lo) / 2 + 0.004], [-d / 2 + t / 2, 0, (lo + hi) / 2]),  # back
    ]
    shell_col, shell_vis = _box_link(cid, shell, cab.rgba)
    inner_w, inner_h = w / 2 - t - 0.003, (hi - lo) / 2 - 0.003
    zc = (lo + hi) / 2
    depth = d - 2 * t - 0.01
    tray = [
        ([depth / 2, inner_w, 0.004], [d / 2 - t - depth / 2, 0, lo + 0.007]),  # floor
        ([depth / 2, 0.004, inner_h * 0.8], [d / 2 - t - depth / 2, inner_w - 0.004, zc]),
        ([depth / 2, 0.004, inner_h * 0.8], [d / 2 - t - depth / 2, -inner_w + 0.004, zc]),
        ([0.004, inner_w, inner_h * 0.8], [d / 2 - t - depth, 0, zc]),  # back
    ]
    tray_col, tray_vis = _box_link(cid, tray, cab.rgba)
    front_col, front_vis = _box_link(cid, [([t / 2, inner_w + 0.002, inner_h + 0.002], [d / 2 - t / 2, 0, zc])],
                                     cab.drawer_rgba)
    bar_x = d / 2 + cab.handle_standoff
    bar_col = pb.createCollisionShape(pb.GEOM_CYLINDER, radius=cab.handle_radius, height=cab.handle_length,
                                      collisionFramePosition=[bar_x, 0, zc], physicsClientId=cid)
    bar_vis = pb.createVisualShape(pb.GEOM_CYLINDER, radius=cab.handle_radius, length=cab.handle_length,
                                   visualFramePosition=[bar_x, 0, zc], physicsClientId=cid)
    posts = [([cab.handle_standoff / 2, 0.006, 0.006],
              [d / 2 + cab.handle_standoff / 2, 0, zc + sz * (cab.handle_length / 2 - 0.006)]) for sz in (-1, 1)]
    post_col, post_vis = _box_link(cid, posts, cab.handle_rgba)
    links = [(0.15 * 4, tray_col, tray_vis, pb.JOINT_PRISMATIC, 0),
             (0.15, front_col, front_vis, pb.JOINT_FIXED, 1),
             (0.05, bar_col, bar_vis, pb.JOINT_FIXED, 1),
             (0.02, post_col, post_vis, pb.JOINT_FIXED, 1)]
    x, y, yaw = cab.pose
    body = pb.createMultiBody(
        0, shell_col, shell_vis, [x, y, 0], yaw_quat(yaw),
        linkMasses=[m for m, *_ in links], linkCollisionShapeIndices=[c for _, c, *_ in links],
        linkVisualShapeIndices=[v for _, _, v, *_ in links], linkPositions=[[0, 0, 0]] * len(links),
        linkOrientations=[[0, 0, 0, 1]] * len(links), linkInertialFramePositions=[[0, 0, zc]] * len(links),
        linkInertialFrameOrientations=[[0, 0, 0, 1]] * len(links),
        linkParentIndices=[parent for *_, parent in links], linkJointTypes=[j for *_, j, _ in links],
        linkJointAxis=[[1, 0, 0]] * len(links), physicsClientId=cid)
    for link, rgba in ((-1, cab.rgba), (0, cab.rgba), (1, cab.drawer_rgba), (2, cab.handle_rgba), (3, cab.handle_rgba)):
        pb.changeVisualShape(body, link, rgbaColor=list(rgba), physicsClientId=cid)
        _contact(cid, body, link, 1.0, config)
    pb.changeDynamics(body, 0, jointLowerLimit=0.0, jointUpperLimit=cab.drawer_travel,
                      jointDamping=cab.drawer_damping, physicsClientId=cid)
    pb.setJointMotorControl2(body, 0, pb.VELOCITY_CONTROL, force=0.0, physicsClientId=cid)
    # The drawer slides inside its own shell: no contacts between the two.
    for link in range(len(links)):
        pb.setCollisionFilterPair(body, body, -1, link, 0, physicsClientId=cid)
    return body


def build_world(cid: int, scene: SceneSpec, config) -> PybulletWorld:
    """Reset client `cid` and build robot + scene; physics settings from a PybulletRobotConfig."""
    pb.resetSimulation(physicsClientId=cid)
    pb.setGravity(0, 0, -9.81, physicsClientId=cid)
    pb.setPhysicsEngineParameter(fixedTimeStep=config.physics_timestep_s, numSubSteps=0,
                                 numSolverIterations=config.solver_iterations, enableConeFriction=1, enableSAT=int(config.polyhedral_contacts),
                                 deterministicOverlappingPairs=1, physicsClientId=cid)
    robot, joints, links = _build_robot(cid, scene, config)
    world = PybulletWorld(client=cid, robot=robot, joints=joints, links=links)
    world.floor = _floor(cid, scene, config)
    for obj in scene.objects:
        world.objects[obj.name] = _object(cid, obj, config)
    for c in scene.containers:
        world.containers[c.name] = _container(cid, c, config)
    if scene.cabinet is not None:
        world.cabinet = _cabinet(cid, scene.cabinet, config)
    return world
