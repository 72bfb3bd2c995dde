"""Perception on the robot camera's RGB-D images: detection, tracking, postcondition checks.

Works on images like on a real robot; simulator ground truth is never read here (the ORACLE is
only for scoring, in `robomatrix.bench.perception` and tests).
"""
from robomatrix.perception.detector import (
    ColorShapeConfig,
    ColorShapeDetector,
    Detector,
    PerceivedObject,
    kind_of,
)
from robomatrix.perception.robot_model import RobotGeometry, camera_pose_base

__all__ = [
    "ColorShapeConfig", "ColorShapeDetector", "Detector", "PerceivedObject", "RobotGeometry",
    "camera_pose_base", "kind_of",
]
