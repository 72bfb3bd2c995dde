"""The PyBullet robot backend (registered as `pybullet`): the `SimulatedRobot` contract on PyBullet.

The same robot (sim/assets/robomatrix_ep.urdf), the same scene specs and the same behaviour as the
MuJoCo backend, on a second physics engine, so skills and perception can be checked against two
contact models. Each robot owns its own `pybullet.DIRECT` client: several robots in one process
share no state.

Lock-step: nothing moves until `advance(duration_s)` steps the physics. The last applied action
holds between calls:
- base velocity (base frame) is re-rotated into the world-frame x/y velocity motors every step;
- the arm set-point moves toward its target at most `arm_speed_limit_mps` (a servo trajectory);
- the gripper set-point ramps at full travel per `gripper_close_time_s`; the finger motor's force
  limit is the grip force.
Rendering: the eglRenderer plugin (OpenGL on EGL; software llvmpipe here), TinyRenderer where the
plugin does not load (`renderer="tiny"` forces it).
"""
from __future__ import annotations

import atexit
import math
import weakref
from dataclasses import dataclass

import numpy as np

from robomatrix.errors import RoboMatrixError, UsageError, unknown_name
from robomatrix.hardware.kinematics import (
    base_to_world_velocity,
    intrinsics_from_fovy,
    world_to_base_velocity,
)
from robomatrix.hardware.robot import (
    Observation,
    RobotConfig,
    register_robot,
)
from robomatrix.sim import pybullet_model
from robomatrix.sim.actuation import ActuatedSimRobot
from robomatrix.sim.pybullet_render import RENDERERS, PybulletCamera, pb, quiet_stdout
from robomatrix.sim.scene import SceneSpec, resolve_scene

ROBOT_CAMERA = "robot_camera"
OVERVIEW_CAMERA = "overview"
_CONNECTED: weakref.WeakSet = weakref.WeakSet()  # robots to disconnect quietly at exit


@atexit.register
def _disconnect_all() -> None:
    """A client still open at exit is torn down by PyBullet's module cleanup, whose renderer banner
    would land on stdout after a `--json` object: close them first, quietly."""
    for robot in list(_CONNECTED):
        robot.disconnect()


@dataclass
class PybulletRobotConfig(RobotConfig):
    """RobotConfig plus PyBullet's physics, contact and rendering settings."""

    physics_timestep_s: float = 1.0 / 480.0  # PyBullet fixed timestep, s
    solver_iterations: int = 60  # constraint solver iterations per step (grip and drawer need > 20)
    camera_fovy_deg: float = 70.0  # robot camera vertical field of view, degrees (as MuJoCo)
    base_force_limit_n: float = 150.0  # max force of the base x/y velocity motors, N
    base_torque_limit_nm: float = 20.0  # max torque of the base yaw velocity motor, N m
    arm_force_limit_n: float = 200.0  # max force of the arm x/z position motors, N (URDF effort)
    arm_position_gain: float = 0.3  # PyBullet position-motor gain of the arm (0..1)
    gripper_force_limit_n: float = 20.0  # max finger force, N: the grip force
    gripper_position_gain: float = 0.3  # position-motor gain of the finger
    contact_stiffness: float = 1.0e4  # N/m, soft (spring-damper) contacts; 0: PyBullet's rigid (ERP) ones
    contact_damping: float = 80.0  # N s/m, with contact_stiffness (a dropped can lands flat, not on one rim point)
    spinning_friction: float = 0.001  # torsional friction coefficient (as MuJoCo's condim-4 pads)
    rolling_friction: float = 0.0001  # rolling friction coefficient
    polyhedral_contacts: bool = False  # separating-axis contact clipping: face-on-face manifolds for hulls
    renderer: str = "auto"  # "auto": eglRenderer plugin if it loads, else TinyRenderer; "egl"; "tiny"
    start_arm_position_m: tuple[float, float] = (0.22, 0.16)  # gripper (x, z) after reset, base frame

    def __post_init__(self):
        super().__post_init__()
        for name in ("physics_timestep_s", "camera_fovy_deg", "base_force_limit_n", "base_torque_limit_nm",
                     "arm_force_limit_n", "arm_position_gain", "gripper_force_limit_n", "gripper_position_gain"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UsageError(f"PybulletRobotConfig.{name} must be a positive number, got {value!r}.")
        for name in ("contact_stiffness", "contact_damping", "spinning_friction", "rolling_friction"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise UsageError(f"PybulletRobotConfig.{name} must be a number >= 0, got {value!r}.")
        if self.physics_timestep_s > 0.01:
            raise UsageError(f"PybulletRobotConfig.physics_timestep_s must be ≤ 0.01 s, got {self.physics_timestep_s!r}.")
        if isinstance(self.solver_iterations, bool) or not isinstance(self.solver_iterations, int) \
                or not 1 <= self.solver_iterations <= 1000:
            raise UsageError(f"PybulletRobotConfig.solver_iterations must be an integer in 1..1000, "
                             f"got {self.solver_iterations!r}.")
        if not 1.0 <= self.camera_fovy_deg <= 170.0:
            raise UsageError(f"PybulletRobotConfig.camera_fovy_deg must be in 1..170, got {self.camera_fovy_deg!r}.")
        if self.renderer not in RENDERERS:
            raise unknown_name("PybulletRobotConfig.renderer", self.renderer, RENDERERS)


class PybulletRobot(ActuatedSimRobot):
    name = "pybullet"
    finger_travel_m = pybullet_model.FINGER_TRAVEL_M

    def __init__(self, config: PybulletRobotConfig):
        super().__init__(config)
        self.client: int | None = None
        self.world: pybullet_model.PybulletWorld | None = None
        self.scene: SceneSpec | None = None
        self._camera: PybulletCamera | None = None
        self._steps = 0
        self.intrinsics = intrinsics_from_fovy(config.camera_width, config.camera_height, config.camera_fovy_deg)

    # ------------------------------------------------------------- lifecycle
    @property
    def is_connected(self) -> bool:
        return self.client is not None

    def connect(self) -> None:
        if self.client is None:
            with quiet_stdout():
                self.client = pb.connect(pb.DIRECT)
            if self.client < 0:
                self.client = None
                raise RoboMatrixError("PyBullet could not start a DIRECT physics client.")
            _CONNECTED.add(self)
            cfg = self.config  # the renderer plugin first: it only draws shapes made after it loads
            self._camera = PybulletCamera(self.client, cfg.camera_width, cfg.camera_height, cfg.camera_fovy_deg,
                                          renderer=cfg.renderer)

    def disconnect(self) -> None:
        if self.client is not None:
            try:
                with quiet_stdout():
                    pb.disconnect(physicsClientId=self.client)
            except pb.error:  # already gone (interpreter shutting down)
                pass
        self.client, self.world, self._camera = None, None, None
        _CONNECTED.discard(self)

    def _require(self) -> None:
        if self.client is None:
            raise RoboMatrixError("PyBullet robot is not connected: call connect() (or use `with robot:`) first.")
        if self.world is None:
            raise RoboMatrixError("PyBullet robot has no world yet: call reset(scene, seed) first.")

    @property
    def renderer_name(self) -> str:
        """"egl" or "tiny": the renderer in use ("" before connect)."""
        return self._camera.renderer_name if self._camera is not None else ""

    # ------------------------------------------------------------- world
    def reset(self, scene="office", seed: int = 0) -> Observation:
        if self.client is None:
            raise RoboMatrixError("PyBullet robot is not connected: call connect() (or use `with robot:`) first.")
        spec = resolve_scene(scene, seed)
        cfg, cid = self.config, self.client
        self.world = pybullet_model.build_world(cid, spec, cfg)  # rebuilt every time: same seed, same world
        self.scene = spec
        w = self.world
        ax, az = cfg.start_arm_position_m
        for joint, value in (("arm_x_joint", ax), ("arm_z_joint", az),
                             ("left_finger_joint", pybullet_model.FINGER_TRAVEL_M),
                             ("right_finger_joint", pybullet_model.FINGER_TRAVEL_M)):
            pb.resetJointState(w.robot, w.joints[joint], value, physicsClientId=cid)
        self._reset_commands((ax, az))
        self._steps = 0
        self._base_joint_ids = [w.joints[j] for j in pybullet_model.PLANAR_JOINTS]
        self._arm_joint_ids = [w.joints["arm_x_joint"], w.joints["arm_z_joint"]]
        self._camera.set_lighting(spec.lighting.direction, spec.lighting.intensity, spec.lighting.ambient)
        self._apply_controls()
        return self.get_observation()

    # ------------------------------------------------------------- acting
    @property
    def sim_time_s(self) -> float:
        return self._steps * self.config.physics_timestep_s if self.world is not None else 0.0

    def _yaw(self) -> float:
        return float(pb.getJointState(self.world.robot, self.world.joints["base_yaw"], physicsClientId=self.client)[0])

    def _apply_controls(self) -> None:
        cfg, w, cid = self.config, self.world, self.client
        vx, vy, wz = self._base_command
        wx, wy = base_to_world_velocity(vx, vy, self._yaw())
        pb.setJointMotorControlArray(w.robot, self._base_joint_ids, pb.VELOCITY_CONTROL, targetVelocities=[wx, wy, wz],
                                     forces=[cfg.base_force_limit_n, cfg.base_force_limit_n, cfg.base_torque_limit_nm],
                                     physicsClientId=cid)
        pb.setJointMotorControlArray(w.robot, self._arm_joint_ids, pb.POSITION_CONTROL,
                                     targetPositions=list(self._arm_setpoint), targetVelocities=[0.0, 0.0],
                                     forces=[cfg.arm_force_limit_n] * 2, positionGains=[cfg.arm_position_gain] * 2,
                                     velocityGains=[1.0, 1.0], physicsClientId=cid)
        pb.setJointMotorControl2(w.robot, w.joints["left_finger_joint"], pb.POSITION_CONTROL,
                                 targetPosition=self._gripper_setpoint, targetVelocity=0.0,
                                 force=cfg.gripper_force_limit_n, positionGain=cfg.gripper_position_gain,
                                 velocityGain=1.0, physicsClientId=cid)

    def _physics_timestep_s(self) -> float:
        return self.config.physics_timestep_s

    def _step_physics(self) -> None:
        pb.stepSimulation(physicsClientId=self.client)
        self._steps += 1

    # ------------------------------------------------------------- sensing
    def _link_pose_world(self, link: str) -> np.ndarray:
        state = pb.getLinkState(self.world.robot, self.world.links[link], computeForwardKinematics=True,
                                physicsClientId=self.client)
        t = np.eye(4)
        t[:3, :3] = np.asarray(pb.getMatrixFromQuaternion(state[5]), float).reshape(3, 3)
        t[:3, 3] = state[4]
        return t

    def _camera_pose_base(self) -> np.ndarray:
        return np.linalg.inv(self._link_pose_world("base_link")) @ self._link_pose_world("camera_optical_frame")

    def get_state(self) -> Observation:
        self._require()
        w = self.world
        names = pybullet_model.ROBOT_JOINTS
        states = pb.getJointStates(w.robot, [w.joints[n] for n in names], physicsClientId=self.client)
        q = {n: float(s[0]) for n, s in zip(names, states)}
        v = {n: float(s[1]) for n, s in zip(names, states)}
        yaw = q["base_yaw"]
        bvx, bvy = world_to_base_velocity(v["base_x"], v["base_y"], yaw)
        return Observation(
            rgb=None, depth=None, intrinsics=self.intrinsics, camera_pose_base=self._camera_pose_base(),
            base_pose=np.array([q["base_x"], q["base_y"], math.remainder(yaw, 2 * math.pi)]),
            base_velocity=np.array([bvx, bvy, v["base_yaw"]]),
            ee_position=np.array([q["arm_x_joint"], q["arm_z_joint"]]),
            gripper_opening=float(np.clip(q["left_finger_joint"] / pybullet_model.FINGER_TRAVEL_M, 0.0, 1.0)),
            stamp_s=self.sim_time_s)

    def get_observation(self) -> Observation:
        obs = self.get_state()
        obs.rgb, obs.depth = self.render(ROBOT_CAMERA)
        return obs

    def _overview_pose_world(self) -> np.ndarray:
        """The overview camera of sim/mujoco_model.py: behind and beside the start, looking over the scene."""
        rx, ry, ryaw = self.scene.robot_start
        back, side = -0.45, -0.95
        pos = np.array([rx + back * math.cos(ryaw) - side * math.sin(ryaw),
                        ry + back * math.sin(ryaw) + side * math.cos(ryaw), 1.35])
        target = np.array([rx + 0.75 * math.cos(ryaw), ry + 0.75 * math.sin(ryaw), 0.0])
        z = (target - pos) / np.linalg.norm(target - pos)
        x = np.cross(z, [0.0, 0.0, 1.0])
        x /= np.linalg.norm(x)
        t = np.eye(4)
        t[:3, 0], t[:3, 1], t[:3, 2], t[:3, 3] = x, np.cross(z, x), z, pos
        return t

    def render(self, camera: str = ROBOT_CAMERA, depth: bool = True):
        """(rgb, depth) from `robot_camera` or `overview` at the configured size; depth None if not asked."""
        self._require()
        cam = self._camera
        if camera == ROBOT_CAMERA:
            return cam.render(self._link_pose_world("camera_optical_frame"), depth=depth)
        if camera == OVERVIEW_CAMERA:
            projection = pb.computeProjectionMatrixFOV(62.0, cam.width / cam.height, cam.znear, cam.zfar)
            return cam.render(self._overview_pose_world(), depth=depth, projection=projection)
        raise unknown_name("camera", camera, (ROBOT_CAMERA, OVERVIEW_CAMERA))

    # ------------------------------------------------------------- ORACLE (ground truth)
    def oracle_object_poses(self) -> dict[str, np.ndarray]:
        """ORACLE: for scoring and expert demonstrations only."""
        self._require()
        out = {}
        for name, body in self.world.objects.items():
            pos, (qx, qy, qz, qw) = pb.getBasePositionAndOrientation(body, physicsClientId=self.client)
            out[name] = np.array([*pos, qw, qx, qy, qz])
        return out

    def oracle_drawer_opening(self) -> float:
        """ORACLE: drawer opening in metres (0 when the scene has no cabinet)."""
        self._require()
        if self.world.cabinet is None:
            return 0.0
        return float(pb.getJointState(self.world.cabinet, 0, physicsClientId=self.client)[0])

    # ------------------------------------------------------------- ORACLE (disturbance injection)
    # For the perturbation suite only, as on the MuJoCo backend: the simulator moves things the way a
    # person or an accident would, mid-task. Nothing that acts ever calls these.
    def oracle_place_object(self, name: str, x: float, y: float, yaw: float = 0.0) -> None:
        """ORACLE: set movable object `name` upright on the floor at world (x, y), at rest."""
        self._require()
        spec, body = self.scene.object(name), self.world.objects[name]
        pb.resetBasePositionAndOrientation(body, [x, y, spec.height / 2 + 0.001], pybullet_model.yaw_quat(yaw),
                                           physicsClientId=self.client)
        pb.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0], physicsClientId=self.client)

    def oracle_place_container(self, name: str, x: float, y: float, yaw: float) -> None:
        """ORACLE: move static container `name` to world pose (x, y, yaw) (undone by the next reset)."""
        self._require()
        self.scene.container(name)  # unknown name: UsageError with a suggestion
        for body in self.world.containers[name]:
            z = pb.getBasePositionAndOrientation(body, physicsClientId=self.client)[0][2]
            pb.resetBasePositionAndOrientation(body, [x, y, z], pybullet_model.yaw_quat(yaw),
                                               physicsClientId=self.client)

    def oracle_set_drawer_opening(self, opening_m: float) -> None:
        """ORACLE: slide the drawer to `opening_m` (0: shut), at rest."""
        self._require()
        if self.world.cabinet is None:
            raise UsageError("this scene has no drawer")
        pb.resetJointState(self.world.cabinet, 0, float(opening_m), 0.0, physicsClientId=self.client)


register_robot("pybullet", PybulletRobotConfig, PybulletRobot)
