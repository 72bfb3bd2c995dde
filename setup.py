"""Install RoboMatrix as a Python package and as a ROS 2 ament_python package.

The layer folders at the top level (skills/, planners/, sim/) are installed as
robomatrix.skills, robomatrix.planners and robomatrix.sim through an explicit
package_dir mapping; never a bare find_packages() at the root, which would install
them as top-level `skills`, `planners`, `sim`.
"""
import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "robomatrix"

# Sub-packages of each mapped layer folder, discovered inside that folder only.
LAYERS = {"skills": "skills", "planners": "planners", "sim": "sim"}

packages = [p for p in find_packages(include=[PACKAGE, PACKAGE + ".*"])]
package_dir = {PACKAGE: PACKAGE}
for layer, folder in LAYERS.items():
    packages.append(f"{PACKAGE}.{layer}")
    package_dir[f"{PACKAGE}.{layer}"] = folder
    for sub in find_packages(where=folder):
        packages.append(f"{PACKAGE}.{layer}.{sub}")
        package_dir[f"{PACKAGE}.{layer}.{sub}"] = os.path.join(folder, *sub.split("."))

# One console script per node, so `ros2 run robomatrix <node>` works, plus the CLI. They go
# through robomatrix.node_entry, which imports each node inside the Ctrl-C guard.
NODES = ("hardware_node", "perception_node", "skill_server", "executive", "console")

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Skill-centric hierarchical robot task-execution stack, ROS 2-native",
    python_requires=">=3.10",
    packages=packages,
    package_dir=package_dir,
    package_data={
        f"{PACKAGE}.sim": ["assets/*", "assets/**/*"],
        f"{PACKAGE}.console": ["static/*"],  # the console's page: plain HTML/JS/CSS, no build step
        f"{PACKAGE}.hardware": ["profiles/*.yaml"],  # robot profiles for the ros2 backend
    },
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        ("share/" + PACKAGE + "/launch", glob("launch/*.launch.yaml")),
    ],
    install_requires=[],  # pinned in requirements.txt; ROS 2 installs use rosdep (package.xml)
    zip_safe=True,
    entry_points={
        "console_scripts": ["robomatrix = robomatrix.cli.main:main"]
        + [f"{name} = robomatrix.node_entry:{name}" for name in NODES],
    },
)
