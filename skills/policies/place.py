"""position_over(object, target): carry the held object and hold it above a container's opening.

Box and bin: the opening's centre, perceived at rim height, is brought under the gripper.
Drawer: perception reports the handle bar and the direction the drawer pulls out; the point
above the middle of the drawer's exposed interior is computed from the cabinet's drawer geometry
(handle standoff and front thickness) and the perceived opening.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np

from robomatrix.hardware.kinematics import world_to_base_point
from robomatrix.hardware.robot import Action
from robomatrix.perception import nominal
from robomatrix.perception.nominal import CAN_RADIUS_M, INNER_SIZE_M
from robomatrix.perception.tracking import inside_container
from robomatrix.skills.policies.base import (
    CARRY_Z_M,
    DRAWER_CARRY_Z_M,
    DROP_X_M,
    Phased,
    arm_at,
    heading_to_face,
    holding,
    object_or_none,
    servo_to_point,
)

DRAWER_DROP_X_M = 0.40  # gripper x over the drawer: the handle stays well clear of the chassis
MIN_DRAWER_OPENING_M = 0.09  # less than this and a can does not fit in
RELEASE_CLEARANCE_M = 0.03  # the held can's bottom ends this far above a box/bin rim (short drop)
SPOT_MARGIN_M = 0.045  # drop spots keep a can's axis this far inside the container's inner walls
SPOT_GAP_M = 0.02  # free space between two cans dropped at neighbouring bin spots
CHASSIS_FRONT_M = 0.16  # front face of the chassis ahead of the base centre (0.32 m long)
CHASSIS_CLEARANCE_M = 0.02  # the chassis front stays this far from a container's wall
CORRIDOR_HALF_M = 0.19  # a can's axis this close to the base centre's path is in the chassis' way
VIA_REACHED_M = 0.04  # a detour's via point counts as reached this close
SPOT_RECHOOSE_M = 0.04  # the drop spot is chosen again when the container's estimate moves this much
LOWER_BASE_DRIFT_M = 0.03  # the base moved this far while lowering (another policy drove it): carry again
# Inner sizes are the robot's prior (perception's object catalogue), like the can radius: a
# close or partial view (a can inside, the rim cut by the image) shrinks the perceived size.
NOMINAL_INNER_M = INNER_SIZE_M


def drop_spots(size, kind: str) -> list[tuple[float, float]]:
    """Candidate drop points in the container's own frame (centre first), pure geometry.

    Bin: as many spots as fit with `SPOT_GAP_M` between neighbouring cans: a ring (its radius
    keeps `SPOT_MARGIN_M` to the wall) plus the centre when the ring leaves room for it — a
    0.30 m bin takes the centre and seven around it, a 0.22 m one four around an empty centre."""
    if kind == "bin":
        r = max(0.0, 0.5 * float(min(size[0], size[1])) - SPOT_MARGIN_M - 0.005)
        pitch = 2 * CAN_RADIUS_M + SPOT_GAP_M
        n = int(math.pi / math.asin(min(1.0, pitch / (2 * r)))) if r > 0 else 0
        ring = [(r * math.cos(a), r * math.sin(a)) for a in np.linspace(0, 2 * math.pi, n, endpoint=False)]
        return ([(0.0, 0.0)] if r >= pitch or n == 0 else []) + ring
    hx = max(0.0, 0.5 * float(size[0]) - SPOT_MARGIN_M)
    hy = max(0.0, 0.5 * float(size[1]) - SPOT_MARGIN_M)
    return [(0.0, 0.0)] + [(sx * hx, sy * hy) for sx in (-1, 0, 1) for sy in (-1, 0, 1) if (sx, sy) != (0, 0)]


def reachable(spot_odom_xy, container, robot_xy, kind: str) -> bool:
    """Can the gripper get over this point, coming from `robot_xy`, without the chassis running into
    the container? Over a point beyond the container's middle the chassis front would reach its wall
    (the arm holds the can DROP_X_M ahead of the base centre). Box spots are all close to its middle."""
    if kind != "bin":
        return True
    c = np.asarray(container.position_odom[:2], float)
    u = c - np.asarray(robot_xy, float)
    if float(np.linalg.norm(u)) < 1e-6:
        return True
    u /= np.linalg.norm(u)
    beyond = float((np.asarray(spot_odom_xy, float) - c) @ u)  # + = past the centre, seen from the robot
    outer = 0.5 * nominal.BIN_INNER_DIAMETER_M + nominal.CONTAINER_WALL_M
    return DROP_X_M - beyond - outer >= CHASSIS_FRONT_M + CHASSIS_CLEARANCE_M


def final_base_xy(spot_odom_xy, robot_xy) -> np.ndarray:
    """Where the base centre ends when it drives straight at a drop point and stops DROP_X_M short."""
    spot, robot = np.asarray(spot_odom_xy, float), np.asarray(robot_xy, float)
    d = spot - robot
    n = float(np.linalg.norm(d))
    return robot if n < 1e-6 else spot - DROP_X_M * d / n


def segment_distance(p, a, b) -> float:
    p, a, b = (np.asarray(v, float)[:2] for v in (p, a, b))
    ab = b - a
    t = float(np.clip((p - a) @ ab / max(float(ab @ ab), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


def path_clear(a, b, obstacles_odom) -> bool:
    """Does the chassis pass from base position `a` to `b` without running into a can on the floor?"""
    return all(segment_distance(o, a, b) >= CORRIDOR_HALF_M for o in obstacles_odom)


def detour_via(robot_xy, goal_xy, obstacles_odom, container_xy, container_radius_m: float):
    """A via point beside the first can in the way of the straight drive from `robot_xy` to `goal_xy`,
    from which both legs are clear and which keeps the chassis off the container; None if there is no
    such point (or nothing is in the way)."""
    robot, goal = np.asarray(robot_xy, float), np.asarray(goal_xy, float)
    d = goal - robot
    length = float(np.linalg.norm(d))
    blocking = [np.asarray(o, float)[:2] for o in obstacles_odom if segment_distance(o, robot, goal) < CORRIDOR_HALF_M]
    if length < 1e-6 or not blocking:
        return None
    u = d / length
    first = min(blocking, key=lambda o: float((o - robot) @ u))
    normal = np.array([-u[1], u[0]])
    away = -1.0 if float((first - robot) @ normal) > 0 else 1.0  # pass on the side away from the can first
    for side, offset in itertools.product((away, -away), (0.22, 0.28, 0.34, 0.40)):
        via = first + side * offset * normal
        keeps_off = float(np.linalg.norm(via - np.asarray(container_xy, float)[:2])) >= container_radius_m + 0.20
        if keeps_off and path_clear(robot, via, obstacles_odom) and path_clear(via, goal, obstacles_odom):
            return via
    return None


def free_spot(container, occupied_odom: list, robot_xy, obstacles_odom=()) -> tuple[float, float]:
    """The drop point, in the container's own frame: among the spots the robot can reach from where it
    is (and, given the cans on the floor, `obstacles_odom`, preferably without one in the way), the one
    farthest from the cans already inside. An empty box: its centre; an empty bin: the
    spot nearest the robot (the chassis then stays farthest from the bin and from what is near it)."""
    spots = drop_spots(NOMINAL_INNER_M.get(container.kind, (0.2, 0.2)), container.kind)
    if not occupied_odom and container.kind != "bin":
        return spots[0]
    robot_xy = np.asarray(robot_xy, float)
    # first a spot with room for the can, then one the chassis can get to, then one without a detour
    usable = [s for s in spots if all(np.linalg.norm(spot_odom(container, s) - np.asarray(o[:2], float))
                                      >= 2 * CAN_RADIUS_M + 0.01 for o in occupied_odom)] or spots
    usable = [s for s in usable if reachable(spot_odom(container, s), container, robot_xy, container.kind)] or usable
    if obstacles_odom:  # prefer a spot that the chassis reaches without pushing a can on the floor
        usable = [s for s in usable if path_clear(robot_xy, final_base_xy(spot_odom(container, s), robot_xy),
                                                  obstacles_odom)] or usable
    # nearest the robot = farthest from "minus the robot": the straightest, shortest way in
    refs, sign = (occupied_odom, 1.0) if occupied_odom else ([robot_xy], -1.0)
    best, best_d = usable[0], -math.inf
    for spot in usable:
        p = spot_odom(container, spot)
        d = sign * min(float(np.linalg.norm(p - np.asarray(o[:2], float))) for o in refs)
        if d > best_d + 1e-3:
            best, best_d = spot, d
    return best


def spot_odom(container, spot) -> np.ndarray:
    """A point given in the container's frame, in odom, from the container's current estimate."""
    yaw = container.yaw_odom or 0.0
    c, s = math.cos(yaw), math.sin(yaw)
    return np.asarray(container.position_odom[:2], float) + np.array([c * spot[0] - s * spot[1],
                                                                       s * spot[0] + c * spot[1]])


def drawer_drop_point_odom(handle_odom, pull_yaw: float, opening_m: float) -> np.ndarray:
    """Odom (x, y) above the middle of an open drawer's exposed interior (pure geometry).

    The exposed interior spans from the cabinet face to the drawer front's inner face, i.e. from
    `opening - 0.015` to 0 m measured back from the front's inner face."""
    back = nominal.DRAWER_HANDLE_TO_FRONT_INSIDE_M + 0.5 * (opening_m - nominal.CABINET_FACE_SHORT_OF_OPENING_M)
    d = np.array([math.cos(pull_yaw), math.sin(pull_yaw)])
    return np.asarray(handle_odom[:2], float) - back * d


class PositionOverPolicy(Phased):
    PHASES = (("raise", 4.0), ("carry", 35.0), ("lower", 3.0))
    # raise and carry command from where perception sees the container now; lower goes back to carry
    # when the base has left the spot it was lowered at (only another policy moves it then: DAgger)
    labels_any_state = True

    def setup(self, state, obs):
        self.name, self.target = self.args["object"], self.args["target"]
        self.spot: tuple[float, float] | None = None
        self.spot_basis = np.zeros(2)  # the container's odom position when the spot was chosen
        self.via: np.ndarray | None = None  # odom point to drive the base through first (around a can)

    def _floor_cans(self, state, container) -> list:
        """Odom positions of the other cans standing on the floor (not in a container)."""
        contained = state.containment()
        return [o.position_odom for name, o in state.objects.items()
                if name != self.name and o.kind == "can" and name not in contained
                and float(o.position_odom[2]) < 0.15
                and not inside_container(o.position_odom, container, -0.03, above_rim_m=math.inf)]

    def _goal(self, state, obs):
        """(point in base_link, gripper x, carry z, heading error or None, release z) or a failure reason."""
        tgt = object_or_none(state, self.target)
        if tgt is None:
            return f"position_over: the {self.target} has not been seen (search for it first)"
        if tgt.kind != "drawer":
            # chosen in the container's frame, again whenever the container's estimate moved (a first,
            # partial view can be off by 10 cm; the view improves on the way)
            if self.spot is None or np.linalg.norm(tgt.position_odom[:2] - self.spot_basis) > SPOT_RECHOOSE_M:
                first = self.spot is None
                nominal_tgt = replace(tgt, size=np.array([*NOMINAL_INNER_M.get(tgt.kind, (0.2, 0.2)),
                                                          float(tgt.position_odom[2])]))
                # cans over the container's nominal footprint at any height (widened: a can on the
                # rim, or on top of another, takes room too)
                inside = [o.position_odom for name, o in state.objects.items()
                          if name != self.name and o.kind not in ("box", "bin", "drawer")
                          and inside_container(o.position_odom, nominal_tgt, margin_m=-0.03, above_rim_m=math.inf)]
                robot = np.asarray(obs.base_pose[:2], float)
                floor = self._floor_cans(state, nominal_tgt)
                self.spot = free_spot(tgt, inside, robot, floor)
                self.spot_basis = np.asarray(tgt.position_odom[:2], float).copy()
                if first:
                    radius = 0.5 * float(np.hypot(*NOMINAL_INNER_M.get(tgt.kind, (0.2, 0.2)))) + 0.01
                    self.via = detour_via(robot, final_base_xy(spot_odom(tgt, self.spot), robot), floor,
                                          tgt.position_odom, radius)
            p = world_to_base_point(spot_odom(tgt, self.spot), obs.base_pose)
            rim = float(tgt.position_odom[2])
            held = state.get(self.name)
            half = float(held.size[2]) / 2 if held is not None and held.size is not None else 0.06
            release_z = min(CARRY_Z_M, rim + half + RELEASE_CLEARANCE_M)
            return np.array([p[0], p[1], rim]), DROP_X_M, CARRY_Z_M, None, release_z
        opening = state.drawer_opening_m
        if opening is not None and opening < MIN_DRAWER_OPENING_M:
            return f"position_over: the drawer is not open far enough ({opening:.2f} m); open it first"
        opening = 0.15 if opening is None else opening
        if tgt.yaw_odom is None:  # no facing estimate: aim past the handle along the line of sight
            return tgt.position_base, DRAWER_DROP_X_M - 0.13, DRAWER_CARRY_Z_M, None, DRAWER_CARRY_Z_M
        drop = drawer_drop_point_odom(tgt.position_odom, tgt.yaw_odom, opening)
        p = world_to_base_point(drop, obs.base_pose)
        facing = heading_to_face(tgt.yaw_odom + math.pi, float(obs.base_pose[2]))
        return p, DRAWER_DROP_X_M, DRAWER_CARRY_Z_M, facing, DRAWER_CARRY_Z_M

    def phase_raise(self, state, obs):
        if not holding(obs):
            return Action(), "fail", f"position_over: the {self.name} is not in the gripper"
        goal = self._goal(state, obs)
        if isinstance(goal, str):
            return Action(), "fail", goal
        arm = (float(obs.ee_position[0]), goal[2])
        if arm_at(obs, arm, 0.01):
            return Action((0.0, 0.0, 0.0), arm, 0.0), "carry", f"carrying the {self.name}"
        return Action((0.0, 0.0, 0.0), arm, 0.0), None, f"raising the {self.name}"

    def phase_carry(self, state, obs):
        if not holding(obs):
            return Action(), "fail", f"position_over: dropped the {self.name} on the way"
        goal = self._goal(state, obs)
        if isinstance(goal, str):
            return Action(), "fail", goal
        point, at_x, z, facing, self.release_z = goal
        self.drop_x, self.carry_z = at_x, z
        arm = (at_x, z)
        if self.via is not None:  # around a can on the floor first, facing the drop point
            e = world_to_base_point(self.via, obs.base_pose)
            if float(np.hypot(*e[:2])) > VIA_REACHED_M:
                vel, _, _ = servo_to_point(e, 0.0, facing_yaw=math.atan2(point[1], point[0]), max_speed_mps=0.3)
                return Action(vel, arm, 0.0), None, f"carrying the {self.name} around a can"
            self.via = None
        vel, err, heading = servo_to_point(point, at_x, facing_yaw=facing, max_speed_mps=0.35)
        reached = err < 0.01 and heading < 0.05 and arm_at(obs, arm, 0.01)
        if self.settled(reached, obs, 0.3):
            self.lower_at = np.asarray(obs.base_pose[:2], float).copy()
            return Action((0.0, 0.0, 0.0), arm, 0.0), "lower", f"the {self.name} is over the {self.target}"
        return Action(vel, arm, 0.0), None, f"carrying the {self.name} to the {self.target} ({err:.2f} m)"

    def phase_lower(self, state, obs):
        """Down to just above the rim, so that the drop on release is short and the can stays upright."""
        arm = (self.drop_x, self.release_z)
        if not holding(obs):
            return Action(), "fail", f"position_over: dropped the {self.name} over the {self.target}"
        if float(np.linalg.norm(np.asarray(obs.base_pose[:2], float) - self.lower_at)) > LOWER_BASE_DRIFT_M:
            return Action((0.0, 0.0, 0.0), (self.drop_x, self.carry_z), 0.0), "carry", \
                f"the base left the spot over the {self.target}: carrying the {self.name} back"
        # a can already in the container may stop the held one a little high: that is still over it
        blocked = self.elapsed_in_phase(obs) > 1.5 and abs(float(obs.ee_position[1]) - self.release_z) < 0.04
        if self.settled(arm_at(obs, arm, 0.006) or blocked, obs, 0.2):
            return Action((0.0, 0.0, 0.0), arm, 0.0), "done", f"the {self.name} is over the {self.target}"
        return Action((0.0, 0.0, 0.0), arm, 0.0), None, f"lowering the {self.name} over the {self.target}"
