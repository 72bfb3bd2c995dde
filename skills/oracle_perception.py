"""ORACLE perception: fills perception's `PerceptionState` from the simulator's ground truth.

FOR ABLATIONS AND TESTS ONLY. It implements the same `update(obs)` / `update_proprio(obs)` as
`robomatrix.perception.Perception`, but reads object poses with `robot.oracle_object_poses()`,
the scene spec and `robot.oracle_drawer_opening()` instead of looking at the camera image. Running
the scripted skills on it ("skills with oracle perception") separates skill failures from
perception failures; the default path everywhere is real perception.

`in_view` is decided geometrically (the centre or an edge of the object's footprint projects inside
the image, in front of the camera, within 2 m), not by occlusion tests.
"""
from __future__ import annotations

import math

import numpy as np

from robomatrix.hardware.kinematics import project, transform_points, world_to_base_point
from robomatrix.hardware.robot import Observation, SimulatedRobot
from robomatrix.perception import PerceptionState, TrackedObject

VIEW_RANGE_M = 2.0  # farther than this counts as not in view
GRIPPER_CATCH_M = 0.03  # an object centre this close to the gripper centre (and fingers not shut) is held


class OraclePerception:
    """ORACLE stand-in for `Perception` on a `SimulatedRobot` (see module docstring)."""

    is_oracle = True

    def __init__(self, robot: SimulatedRobot):
        self.robot = robot
        self.state: PerceptionState | None = None
        self._seen: dict[str, float] = {}

    def reset(self) -> None:
        self.state = None
        self._seen = {}

    def update(self, obs: Observation) -> PerceptionState:
        return self._fill(obs, camera=True)

    def update_proprio(self, obs: Observation) -> PerceptionState:
        return self._fill(obs, camera=False)

    # ------------------------------------------------------------------ ground truth → state
    def _truth(self) -> dict[str, tuple[str, np.ndarray, float | None, np.ndarray]]:
        """ORACLE: name → (kind, world centre point, facing yaw or None, size)."""
        scene = self.robot.scene
        out = {}
        poses = self.robot.oracle_object_poses()
        for o in scene.objects:
            size = np.array([2 * o.size[0], 2 * o.size[0], o.height]) if o.shape == "can" else np.full(3, o.height)
            out[o.name] = (o.shape, np.asarray(poses[o.name][:3], float), None, size)
        for c in scene.containers:
            x, y, yaw = c.pose
            out[c.name] = (c.kind, np.array([x, y, c.wall_height]), yaw,
                           np.array([*c.inner_size, c.wall_height]))
        cab = scene.cabinet
        if cab is not None:
            handle = np.array(cab.handle_position(self.robot.oracle_drawer_opening()))
            out[cab.name] = ("drawer", handle, cab.pose[2], np.array(cab.body_size))
        return out

    def _fill(self, obs: Observation, camera: bool) -> PerceptionState:
        objects: dict[str, TrackedObject] = {}
        base = np.asarray(obs.base_pose, float)
        cam_from_base = np.linalg.inv(obs.camera_pose_base)
        previous = self.state.objects if self.state is not None else {}
        held = None
        for name, (kind, world, yaw, size) in self._truth().items():
            p_base = world_to_base_point(world, base)
            if camera:
                in_view = self._in_view(world, size, base, cam_from_base, obs)
                if in_view:
                    self._seen[name] = obs.stamp_s
            else:
                in_view = previous[name].in_view if name in previous else False
            if name not in self._seen:
                continue  # like real perception: only what has been seen
            objects[name] = TrackedObject(
                name=name, kind=kind, position_odom=world.copy(), position_base=p_base,
                yaw_odom=yaw, size=size, in_view=in_view, last_seen_s=self._seen[name], confidence=1.0)
            gx, gz = obs.ee_position
            if kind not in ("box", "bin", "drawer") and obs.gripper_opening > 0.05 and \
                    math.hypot(p_base[0] - gx, p_base[1]) < GRIPPER_CATCH_M and abs(p_base[2] - gz) < 0.04:
                held = name
        opening = self.robot.oracle_drawer_opening() if self.robot.scene.cabinet is not None else None
        self.state = PerceptionState(stamp_s=obs.stamp_s, base_pose=base.copy(), objects=objects, detections=[],
                                     held_object=held, drawer_opening_m=opening)
        return self.state

    @staticmethod
    def _in_view(world, size, base, cam_from_base, obs: Observation) -> bool:
        half = 0.5 * np.asarray(size[:2], float)
        samples = [world] + [world + np.array([dx, dy, dz]) for dx, dy in
                             ((half[0], 0), (-half[0], 0), (0, half[1]), (0, -half[1]))
                             for dz in (0.0, -0.5 * float(world[2]))]
        for point in samples:
            p_cam = transform_points(cam_from_base, world_to_base_point(point, base)[None])[0]
            if not 0.05 < p_cam[2] < VIEW_RANGE_M:
                continue
            u, v = project(p_cam[None], obs.intrinsics)[0]
            if 0 <= u < obs.intrinsics.width and 0 <= v < obs.intrinsics.height:
                return True
        return False
