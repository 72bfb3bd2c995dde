"""Build a MuJoCo model from the robot URDF and a SceneSpec, through the MjSpec API.

The URDF (sim/assets/robomatrix_ep.urdf) is the robot description; this module adds what a URDF
cannot say, measured to grasp reliably by friction (see FIELD_NOTES):
- the planar base: world-frame slide joints `base_x`, `base_y` then hinge `base_yaw` on base_link
  (the chassis rides 1 cm above the floor), driven by velocity actuators (kv 150 / 5);
- arm position actuators (kp 3000, critically damped) with gravity compensation on the arm bodies;
- one gripper position actuator (kp 1000, ±20 N) on the left finger; the right finger follows it
  through the URDF's <mimic>, which MuJoCo imports as a joint equality constraint;
- contact settings: implicitfast, elliptic cones, impratio 10, stiff solref/solimp, condim 4, pad
  friction 1.5; collision geoms are hidden (group 3) behind the URDF's visual geoms;
- the robot camera on camera_optical_frame (fovy 70), an overview camera, lights without shadows;
- the scene: floor, objects (free bodies), containers, the drawer cabinet.
Nothing attaches objects to the gripper: a grasp is contacts and friction only.
"""
from __future__ import annotations

import math
from pathlib import Path

import mujoco
import numpy as np

from robomatrix.sim.scene import CabinetSpec, ContainerSpec, ObjectSpec, SceneSpec

URDF_PATH = Path(__file__).resolve().parent / "assets" / "robomatrix_ep.urdf"
ROBOT_CAMERA = "robot_camera"
OVERVIEW_CAMERA = "overview"
FINGER_TRAVEL_M = 0.05  # left_finger_joint upper limit in the URDF: gripper opening 1.0
HIDDEN_GROUP = 3  # mjvOption shows groups 0-2 by default
ARM_BODIES = ("arm_carriage_link", "arm_lift_link", "left_finger_link", "right_finger_link")
STIFF_SOLREF = (0.005, 1.0)
STIFF_SOLIMP = (0.95, 0.99, 0.001, 0.5, 2.0)
PAD_FRICTION = (1.5, 0.02, 0.001)
OBJECT_FRICTION = (0.8, 0.01, 0.001)


def body_name(name: str) -> str:
    """MuJoCo name for a scene item ("red can" → "red_can")."""
    return name.replace(" ", "_")


def _set_contact(geom, friction=OBJECT_FRICTION, condim: int = 4) -> None:
    geom.solref, geom.solimp, geom.friction, geom.condim = STIFF_SOLREF, STIFF_SOLIMP, friction, condim


def _yaw_quat(yaw: float) -> list[float]:
    return [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]


def _look_at_xyaxes(pos, target) -> list[float]:
    """MuJoCo camera xyaxes for a camera at `pos` looking at `target` with world +z up."""
    forward = np.asarray(target, float) - np.asarray(pos, float)
    forward /= np.linalg.norm(forward)
    x = np.cross(forward, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(x, forward)
    return [*x, *y]


def _add_robot_extras(spec: mujoco.MjSpec, config) -> None:
    base = spec.body("base_link")
    base.add_joint(name="base_x", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[1, 0, 0])
    base.add_joint(name="base_y", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, 1, 0])
    base.add_joint(name="base_yaw", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 0, 1])
    for name in ARM_BODIES:
        spec.body(name).gravcomp = 1.0
    for geom in spec.geoms:
        if geom.contype or geom.conaffinity:  # collision geoms: hidden, stiff contacts
            geom.group = HIDDEN_GROUP
            is_pad = geom.name in ("left_pad", "right_pad")
            _set_contact(geom, PAD_FRICTION if is_pad else (1.0, 0.01, 0.001), 4 if is_pad else 3)
        else:
            geom.castshadow = False
    spec.equalities[0].solref = STIFF_SOLREF  # the finger mimic
    # The arm passes over/through the chassis (a telescoping boom): no self-contacts.
    for a, b in (("base_link", "arm_lift_link"), ("base_link", "left_finger_link"),
                 ("base_link", "right_finger_link"), ("left_finger_link", "right_finger_link")):
        spec.add_exclude(bodyname1=a, bodyname2=b)

    def add(name, joint, kind, **kw):
        act = spec.add_actuator(name=name, target=joint, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        getattr(act, f"set_to_{kind}")(**kw)
        return act

    add("base_vx", "base_x", "velocity", kv=config.base_kv)
    add("base_vy", "base_y", "velocity", kv=config.base_kv)
    add("base_wz", "base_yaw", "velocity", kv=config.base_yaw_kv)
    # Critically damped: kv = 2 sqrt(kp m) with m the moving mass of each axis.
    arm_x_mass, arm_z_mass = 0.65, 0.35
    add("arm_x", "arm_x_joint", "position", kp=config.arm_kp, kv=2 * math.sqrt(config.arm_kp * arm_x_mass))
    add("arm_z", "arm_z_joint", "position", kp=config.arm_kp, kv=2 * math.sqrt(config.arm_kp * arm_z_mass))
    grip = add("gripper", "left_finger_joint", "position", kp=config.gripper_kp,
               kv=2 * math.sqrt(config.gripper_kp * 0.1))
    grip.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    grip.forcerange = [-config.gripper_force_limit_n, config.gripper_force_limit_n]
    for joint in ("left_finger_joint", "right_finger_joint"):
        spec.joint(joint).damping = [0.5, 0.0, 0.0]
    # OpenCV optical frame (z forward, y down) → MuJoCo camera (looks along -z, y up): 180° about x.
    spec.body("camera_optical_frame").add_camera(name=ROBOT_CAMERA, quat=[0, 1, 0, 0], fovy=config.camera_fovy_deg)


SPAWN_DROP_M = 0.001  # objects start this far above the floor (see _add_object)


def _add_object(world, obj: ObjectSpec) -> None:
    x, y, yaw = obj.pose
    # dropped from SPAWN_DROP_M: a cylinder placed exactly flush on the floor plane can get a phantom 12 mm deep
    # contact from MuJoCo's plane-cylinder collider a few steps in, which flips the can at once (2 of 340
    # cans of the pick/office scenes, e.g. pick seed 1022; none with the drop)
    body = world.add_body(name=body_name(obj.name), pos=[x, y, obj.height / 2 + SPAWN_DROP_M], quat=_yaw_quat(yaw))
    body.add_freejoint(name=body_name(obj.name) + "_free")
    if obj.shape == "can":
        geom = body.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[obj.size[0], obj.size[1] / 2, 0])
    elif obj.shape == "cube":
        geom = body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[obj.size[0] / 2] * 3)
    else:
        geom = body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[obj.size[0], 0, 0])
    geom.name, geom.rgba, geom.mass = body_name(obj.name), obj.rgba, obj.mass
    _set_contact(geom)
    geom.castshadow = False


def _add_container(world, c: ContainerSpec) -> None:
    x, y, yaw = c.pose
    body = world.add_body(name=body_name(c.name), pos=[x, y, 0], quat=_yaw_quat(yaw))
    t, h = c.wall_thickness, c.wall_height
    geoms = [body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[c.inner_size[0] / 2 + t, c.inner_size[1] / 2 + t, 0.004],
                           pos=[0, 0, 0.004])] if c.kind == "box" else []
    if c.kind == "box":
        lx, ly = c.inner_size[0] / 2, c.inner_size[1] / 2
        for sx in (-1, 1):
            geoms.append(body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[t / 2, ly + t, h / 2], pos=[sx * (lx + t / 2), 0, h / 2]))
        for sy in (-1, 1):
            geoms.append(body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[lx, t / 2, h / 2], pos=[0, sy * (ly + t / 2), h / 2]))
    else:  # round bin: a bottom disc and a ring of wall segments
        r = c.inner_size[0] / 2
        geoms.append(body.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[r + t, 0.004, 0], pos=[0, 0, 0.004]))
        n = 16
        half_chord = (r + t) * math.tan(math.pi / n) + 0.002
        for k in range(n):
            a = 2 * math.pi * k / n
            geoms.append(body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[t / 2, half_chord, h / 2],
                                       pos=[(r + t / 2) * math.cos(a), (r + t / 2) * math.sin(a), h / 2],
                                       quat=_yaw_quat(a)))
    for g in geoms:
        g.rgba = c.rgba
        g.castshadow = False
        _set_contact(g, condim=3)
    geoms[0].rgba = tuple(v * 0.8 for v in c.rgba[:3]) + (1.0,)  # darker floor of the container


def _add_cabinet(spec: mujoco.MjSpec, world, cab: CabinetSpec) -> None:
    x, y, yaw = cab.pose
    d, w, hgt = cab.body_size
    lo, hi = cab.drawer_height
    t = 0.015
    body = world.add_body(name="cabinet", pos=[x, y, 0], quat=_yaw_quat(yaw))
    box = mujoco.mjtGeom.mjGEOM_BOX
    shell = [  # (half sizes, centre)
        ([d / 2, w / 2, (lo - 0.004) / 2], [0, 0, (lo - 0.004) / 2]),  # plinth under the drawer
        ([d / 2, w / 2, (hgt - hi - 0.004) / 2], [0, 0, (hgt + hi + 0.004) / 2]),  # top block above it
        ([d / 2, t / 2, (hi - lo) / 2 + 0.004], [0, w / 2 - t / 2, (lo + hi) / 2]),  # side
        ([d / 2, t / 2, (hi - lo) / 2 + 0.004], [0, -w / 2 + t / 2, (lo + hi) / 2]),  # side
        ([t / 2, w / 2 - t, (hi - lo) / 2 + 0.004], [-d / 2 + t / 2, 0, (lo + hi) / 2]),  # back
    ]
    for size, pos in shell:
        g = body.add_geom(type=box, size=size, pos=pos, rgba=cab.rgba)
        g.castshadow = False
        _set_contact(g, condim=3)

    drawer = body.add_body(name=body_name(cab.name), pos=[0, 0, 0])
    drawer.add_joint(name="drawer_slide", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[1, 0, 0],
                     range=[0, cab.drawer_travel], damping=[cab.drawer_damping, 0.0, 0.0], armature=0.01)
    inner_w, inner_h = w / 2 - t - 0.003, (hi - lo) / 2 - 0.003
    zc = (lo + hi) / 2
    depth = d - 2 * t - 0.01
    panels = [
        ([t / 2, inner_w + 0.002, inner_h + 0.002], [d / 2 - t / 2, 0, zc], cab.drawer_rgba),  # front
        ([depth / 2, inner_w, 0.004], [d / 2 - t - depth / 2, 0, lo + 0.007], cab.rgba),  # floor
        ([depth / 2, 0.004, inner_h * 0.8], [d / 2 - t - depth / 2, inner_w - 0.004, zc], cab.rgba),
        ([depth / 2, 0.004, inner_h * 0.8], [d / 2 - t - depth / 2, -inner_w + 0.004, zc], cab.rgba),
        ([0.004, inner_w, inner_h * 0.8], [d / 2 - t - depth, 0, zc], cab.rgba),  # back
    ]
    for size, pos, rgba in panels:
        g = drawer.add_geom(type=box, size=size, pos=pos, rgba=rgba, mass=0.15)
        g.castshadow = False
        _set_contact(g, condim=3)
    # Vertical handle bar on two standoffs, pinched by the gripper's fingers.
    bar_x = d / 2 + cab.handle_standoff
    bar = drawer.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, name="drawer_handle",
                          size=[cab.handle_radius, cab.handle_length / 2, 0], pos=[bar_x, 0, zc],
                          rgba=cab.handle_rgba, mass=0.05)
    _set_contact(bar, friction=(1.0, 0.01, 0.001), condim=4)
    for sz in (-1, 1):
        g = drawer.add_geom(type=box, size=[cab.handle_standoff / 2, 0.006, 0.006],
                            pos=[d / 2 + cab.handle_standoff / 2, 0, zc + sz * (cab.handle_length / 2 - 0.006)],
                            rgba=cab.handle_rgba, mass=0.01)
        g.castshadow = False
        _set_contact(g, condim=3)
    bar.castshadow = False
    spec.add_exclude(bodyname1="cabinet", bodyname2=body_name(cab.name))


def _add_world(spec: mujoco.MjSpec, scene: SceneSpec) -> None:
    spec.add_texture(name="floor_checker", type=mujoco.mjtTexture.mjTEXTURE_2D,
                     builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER, width=256, height=256,
                     rgb1=scene.floor_rgba[:3], rgb2=scene.floor_rgba2[:3])
    mat = spec.add_material(name="floor", texrepeat=[2, 2], texuniform=True, reflectance=0.0)
    mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "floor_checker"
    world = spec.worldbody
    floor = world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05], material="floor")
    _set_contact(floor, friction=(0.8, 0.01, 0.001), condim=3)
    light = scene.lighting
    world.add_light(name="key", type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL, dir=list(light.direction),
                    pos=[0, 0, 3], diffuse=[light.intensity] * 3, specular=[0.1] * 3, castshadow=False)
    spec.visual.headlight.ambient = [light.ambient] * 3
    spec.visual.headlight.diffuse = [0.25] * 3
    spec.visual.headlight.specular = [0.0] * 3
    spec.visual.quality.shadowsize = 0
    rx, ry, ryaw = scene.robot_start
    # Behind and to the side of the robot's start, looking over the scene.
    back, side = -0.45, -0.95
    pos = [rx + back * math.cos(ryaw) - side * math.sin(ryaw), ry + back * math.sin(ryaw) + side * math.cos(ryaw), 1.35]
    target = [rx + 0.75 * math.cos(ryaw), ry + 0.75 * math.sin(ryaw), 0.0]
    world.add_camera(name=OVERVIEW_CAMERA, pos=pos, xyaxes=_look_at_xyaxes(pos, target), fovy=62)
    for obj in scene.objects:
        _add_object(world, obj)
    for c in scene.containers:
        _add_container(world, c)
    if scene.cabinet is not None:
        _add_cabinet(spec, world, scene.cabinet)


def build_spec(scene: SceneSpec, config) -> mujoco.MjSpec:
    """The full MjSpec (robot + scene) for `scene` under a MujocoRobotConfig."""
    spec = mujoco.MjSpec.from_file(str(URDF_PATH))
    spec.modelname = f"robomatrix_ep_{scene.name}"
    opt = spec.option
    opt.timestep = config.physics_timestep_s
    opt.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    opt.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    opt.impratio = 10.0
    spec.visual.global_.offwidth = max(640, config.camera_width)
    spec.visual.global_.offheight = max(480, config.camera_height)
    spec.visual.map.znear = 0.01
    spec.visual.map.zfar = 20.0
    spec.stat.extent = 1.0  # fixes near/far in metres: znear * extent, zfar * extent
    _add_robot_extras(spec, config)
    _add_world(spec, scene)
    return spec


def build_model(scene: SceneSpec, config) -> mujoco.MjModel:
    return build_spec(scene, config).compile()
