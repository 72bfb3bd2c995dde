"""The MuJoCo robot backend (registered as `mujoco`): the `SimulatedRobot` contract on MuJoCo.

Lock-step: nothing moves until `advance(duration_s)` steps the physics, so a control loop runs as
fast as the CPU allows in simulated time. The last applied action holds between calls:
- base velocity (base frame) is re-rotated into the world-frame slide actuators every physics step;
- the arm set-point moves toward its target at most `arm_speed_limit_mps` (a servo trajectory);
- the gripper set-point ramps at full travel per `gripper_close_time_s` (instant closing penetrates).
One `mujoco.Renderer` is created per model and renders RGB and depth in a single pass.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from robomatrix.errors import RoboMatrixError, UsageError  # noqa: E402
from robomatrix.hardware.kinematics import (  # noqa: E402
    base_to_world_velocity,
    intrinsics_from_fovy,
    world_to_base_velocity,
)
from robomatrix.hardware.robot import (  # noqa: E402
    Observation,
    RobotConfig,
    register_robot,
)
from robomatrix.sim import mujoco_model  # noqa: E402
from robomatrix.sim.actuation import ActuatedSimRobot  # noqa: E402
from robomatrix.sim.render import RgbdRenderer  # noqa: E402
from robomatrix.sim.scene import SceneSpec, resolve_scene  # noqa: E402


@dataclass
class MujocoRobotConfig(RobotConfig):
    """RobotConfig plus the MuJoCo model's physics and rendering settings."""

    physics_timestep_s: float = 0.002  # MuJoCo timestep, s (stiff contacts need ≤ 0.002)
    camera_fovy_deg: float = 70.0  # robot camera vertical field of view, degrees
    base_kv: float = 150.0  # base x/y velocity actuator gain, N s/m
    base_yaw_kv: float = 5.0  # base yaw velocity actuator gain, N m s/rad
    arm_kp: float = 3000.0  # arm position actuator stiffness, N/m (critically damped)
    gripper_kp: float = 1000.0  # gripper position actuator stiffness, N/m
    gripper_force_limit_n: float = 20.0  # max finger force, N
    start_arm_position_m: tuple[float, float] = (0.22, 0.16)  # gripper (x, z) after reset, base frame

    def __post_init__(self):
        super().__post_init__()
        for name in ("physics_timestep_s", "camera_fovy_deg", "base_kv", "base_yaw_kv", "arm_kp",
                     "gripper_kp", "gripper_force_limit_n"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UsageError(f"MujocoRobotConfig.{name} must be a positive number, got {value!r}.")
        if self.physics_timestep_s > 0.01:
            raise UsageError(f"MujocoRobotConfig.physics_timestep_s must be ≤ 0.01 s, got {self.physics_timestep_s!r}.")
        if not 1.0 <= self.camera_fovy_deg <= 170.0:
            raise UsageError(f"MujocoRobotConfig.camera_fovy_deg must be in 1..170, got {self.camera_fovy_deg!r}.")


class MujocoRobot(ActuatedSimRobot):
    name = "mujoco"
    finger_travel_m = mujoco_model.FINGER_TRAVEL_M

    def __init__(self, config: MujocoRobotConfig):
        super().__init__(config)
        self._connected = False
        self.model: mujoco.MjModel | None = None
        self.data: mujoco.MjData | None = None
        self.scene: SceneSpec | None = None
        self._renderer: RgbdRenderer | None = None
        self.intrinsics = intrinsics_from_fovy(config.camera_width, config.camera_height, config.camera_fovy_deg)

    # ------------------------------------------------------------- lifecycle
    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
        self._renderer = None
        self.model = self.data = None
        self._connected = False

    def _require(self) -> None:
        if not self._connected:
            raise RoboMatrixError("MuJoCo robot is not connected: call connect() (or use `with robot:`) first.")
        if self.data is None:
            raise RoboMatrixError("MuJoCo robot has no world yet: call reset(scene, seed) first.")

    # ------------------------------------------------------------- world
    def reset(self, scene="office", seed: int = 0) -> Observation:
        if not self._connected:
            raise RoboMatrixError("MuJoCo robot is not connected: call connect() (or use `with robot:`) first.")
        spec = resolve_scene(scene, seed)
        if self.model is None or spec != self.scene:
            if self._renderer is not None:
                self._renderer.close()
                self._renderer = None
            self.model = mujoco_model.build_model(spec, self.config)
            self.data = mujoco.MjData(self.model)
            self.scene = spec
            self._index()
        self.model.body_pos[:], self.model.body_quat[:] = self._body_pos0, self._body_quat0  # undo oracle_place_container
        mujoco.mj_resetData(self.model, self.data)
        q = self.data.qpos
        q[self._qadr["base_x"]], q[self._qadr["base_y"]], q[self._qadr["base_yaw"]] = spec.robot_start
        ax, az = self.config.start_arm_position_m
        q[self._qadr["arm_x_joint"]], q[self._qadr["arm_z_joint"]] = ax, az
        q[self._qadr["left_finger_joint"]] = q[self._qadr["right_finger_joint"]] = mujoco_model.FINGER_TRAVEL_M
        self._reset_commands((ax, az))
        mujoco.mj_forward(self.model, self.data)
        self._apply_controls()
        return self.get_observation()

    def _index(self) -> None:
        m = self.model
        joints = ("base_x", "base_y", "base_yaw", "arm_x_joint", "arm_z_joint", "left_finger_joint",
                  "right_finger_joint")
        self._qadr = {j: int(m.jnt_qposadr[m.joint(j).id]) for j in joints}
        self._dadr = {j: int(m.jnt_dofadr[m.joint(j).id]) for j in joints}
        self._act = {a: m.actuator(a).id for a in ("base_vx", "base_vy", "base_wz", "arm_x", "arm_z", "gripper")}
        self._base_body = m.body("base_link").id
        self._camera_body = m.body("camera_optical_frame").id
        self._object_bodies = {name: m.body(mujoco_model.body_name(name)).id for name in
                               [o.name for o in self.scene.objects]}
        self._drawer_qadr = (int(m.jnt_qposadr[m.joint("drawer_slide").id])
                             if self.scene.cabinet is not None else None)
        self._body_pos0, self._body_quat0 = m.body_pos.copy(), m.body_quat.copy()

    # ------------------------------------------------------------- acting
    @property
    def sim_time_s(self) -> float:
        return float(self.data.time) if self.data is not None else 0.0

    def _apply_controls(self) -> None:
        ctrl, act = self.data.ctrl, self._act
        vx, vy, wz = self._base_command
        wx, wy = base_to_world_velocity(vx, vy, float(self.data.qpos[self._qadr["base_yaw"]]))
        ctrl[act["base_vx"]], ctrl[act["base_vy"]], ctrl[act["base_wz"]] = wx, wy, wz
        ctrl[act["arm_x"]], ctrl[act["arm_z"]] = self._arm_setpoint
        ctrl[act["gripper"]] = self._gripper_setpoint

    def _physics_timestep_s(self) -> float:
        return float(self.model.opt.timestep)

    def _step_physics(self) -> None:
        mujoco.mj_step(self.model, self.data)

    # ------------------------------------------------------------- sensing
    def _camera_pose_base(self) -> np.ndarray:
        d = self.data
        t_wb = np.eye(4)
        t_wb[:3, :3] = d.xmat[self._base_body].reshape(3, 3)
        t_wb[:3, 3] = d.xpos[self._base_body]
        t_wc = np.eye(4)
        t_wc[:3, :3] = d.xmat[self._camera_body].reshape(3, 3)
        t_wc[:3, 3] = d.xpos[self._camera_body]
        return np.linalg.inv(t_wb) @ t_wc

    def get_state(self) -> Observation:
        self._require()
        q, v, a = self.data.qpos, self.data.qvel, self._qadr
        yaw = float(q[a["base_yaw"]])
        bvx, bvy = world_to_base_velocity(float(v[self._dadr["base_x"]]), float(v[self._dadr["base_y"]]), yaw)
        return Observation(
            rgb=None, depth=None, intrinsics=self.intrinsics, camera_pose_base=self._camera_pose_base(),
            base_pose=np.array([q[a["base_x"]], q[a["base_y"]], yaw]),
            base_velocity=np.array([bvx, bvy, v[self._dadr["base_yaw"]]]),
            ee_position=np.array([q[a["arm_x_joint"]], q[a["arm_z_joint"]]]),
            gripper_opening=float(np.clip(q[a["left_finger_joint"]] / mujoco_model.FINGER_TRAVEL_M, 0.0, 1.0)),
            stamp_s=self.sim_time_s)

    def get_observation(self) -> Observation:
        obs = self.get_state()
        obs.rgb, obs.depth = self.render(mujoco_model.ROBOT_CAMERA)
        return obs

    def render(self, camera: str = mujoco_model.ROBOT_CAMERA, depth: bool = True):
        """(rgb, depth) from a named camera at the configured size; depth is None if not asked."""
        self._require()
        if self._renderer is None:
            self._renderer = RgbdRenderer(self.model, self.config.camera_width, self.config.camera_height)
        return self._renderer.render(self.data, camera, depth=depth)

    # ------------------------------------------------------------- ORACLE (ground truth)
    def oracle_object_poses(self) -> dict[str, np.ndarray]:
        """ORACLE: for scoring and expert demonstrations only."""
        self._require()
        d = self.data
        return {name: np.concatenate([d.xpos[b], d.xquat[b]]) for name, b in self._object_bodies.items()}

    def oracle_drawer_opening(self) -> float:
        """ORACLE: drawer opening in metres (0 when the scene has no cabinet)."""
        self._require()
        return 0.0 if self._drawer_qadr is None else float(self.data.qpos[self._drawer_qadr])


    # ------------------------------------------------------------- ORACLE (disturbance injection)
    # For the perturbation suite only (robomatrix.sim.perturb): the simulator moves things the way
    # a person or an accident would, mid-task. Nothing that acts ever calls these.
    def oracle_place_object(self, name: str, x: float, y: float, yaw: float = 0.0) -> None:
        """ORACLE: set movable object `name` upright on the floor at world (x, y), at rest."""
        self._require()
        spec = self.scene.object(name)
        joint = self.model.body_jntadr[self._object_bodies[name]]
        qa, da = int(self.model.jnt_qposadr[joint]), int(self.model.jnt_dofadr[joint])
        z = spec.height / 2 + mujoco_model.SPAWN_DROP_M
        self.data.qpos[qa:qa + 7] = [x, y, z, math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]
        self.data.qvel[da:da + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def oracle_place_container(self, name: str, x: float, y: float, yaw: float) -> None:
        """ORACLE: move static container `name` to world pose (x, y, yaw) (undone by the next reset)."""
        self._require()
        body = self.model.body(mujoco_model.body_name(self.scene.container(name).name)).id
        self.model.body_pos[body, :2] = (x, y)
        self.model.body_quat[body] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
        mujoco.mj_forward(self.model, self.data)

    def oracle_set_drawer_opening(self, opening_m: float) -> None:
        """ORACLE: slide the drawer to `opening_m` (0: shut), at rest."""
        self._require()
        if self._drawer_qadr is None:
            raise UsageError("this scene has no drawer")
        joint = self.model.joint("drawer_slide")
        self.data.qpos[self._drawer_qadr] = opening_m
        self.data.qvel[int(joint.dofadr[0])] = 0.0
        mujoco.mj_forward(self.model, self.data)


register_robot("mujoco", MujocoRobotConfig, MujocoRobot)
