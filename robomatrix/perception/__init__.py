"""Perception on the robot camera's RGB-D images: detection, tracking, postcondition checks.

Works on images like on a real robot; simulator ground truth is never read here (the ORACLE is
only for scoring, in `robomatrix.bench.perception` and tests).

    perception = Perception()                 # ColorShapeDetector by default
    state = perception.update(robot.get_observation())      # camera frame
    state = perception.update_proprio(robot.get_state())    # between frames (cheap)
    state.get("red can").position_base, state.held_object, state.drawer_opening_m
"""
from robomatrix.perception.detector import (
    ColorShapeConfig,
    ColorShapeDetector,
    Detector,
    PerceivedObject,
    kind_of,
)
from robomatrix.perception.robot_model import RobotGeometry, camera_pose_base
from robomatrix.perception.tracking import Perception, PerceptionConfig, PerceptionState, TrackedObject

__all__ = [
    "ColorShapeConfig", "ColorShapeDetector", "Detector", "PerceivedObject", "Perception", "PerceptionConfig",
    "PerceptionState", "RobotGeometry", "TrackedObject", "camera_pose_base", "kind_of",
]
