"""Run logs: MCAP files with ROS 2 schemas (`McapLog`), the schemas generated from our message
classes (`msg_definition`), and recording a one-process run as the node graph would publish it
(`RobotTap`, `HardwareTopics`)."""
from robomatrix.logs.mcap_log import McapLog
from robomatrix.logs.recorder import HardwareTopics, RobotTap
from robomatrix.logs.schemas import msg_definition

__all__ = ["HardwareTopics", "McapLog", "RobotTap", "msg_definition"]
