"""RoboMatrix: a skill-centric, hierarchical robot task-execution stack, ROS 2-native."""

__version__ = "0.1.0"
