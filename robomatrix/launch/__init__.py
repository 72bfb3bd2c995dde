"""ROS 2 YAML launch files, parsed and run without ROS 2 (`robomatrix launch`).

    plan = parse_launch_file("launch/sim.launch.yaml", ["seed:=3"])
    print(plan.describe())                 # dry run
    result = run_launch(plan)              # blocks; Ctrl-C stops every process
"""
from robomatrix.launch.model import LaunchArgument, LaunchPlan, ProcessSpec
from robomatrix.launch.parser import TAGS, parse_cli_arguments, parse_launch_file
from robomatrix.launch.runner import LaunchResult, LaunchRunner, run_launch
from robomatrix.launch.substitutions import SUBSTITUTIONS, package_share, substitute

__all__ = ["LaunchArgument", "LaunchPlan", "ProcessSpec", "TAGS", "parse_cli_arguments", "parse_launch_file",
           "LaunchResult", "LaunchRunner", "run_launch", "SUBSTITUTIONS", "package_share", "substitute"]
