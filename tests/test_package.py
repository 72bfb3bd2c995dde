"""The package is laid out as ARCHITECTURE.md says, and the layer names map correctly."""
import importlib
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("layer, folder", [("skills", "skills"), ("planners", "planners"), ("sim", "sim")])
def test_layer_folders_import_under_the_robomatrix_namespace(layer, folder):
    module = importlib.import_module(f"robomatrix.{layer}")
    assert Path(module.__file__).resolve().parent == ROOT / folder


def test_bare_layer_names_are_not_installed_as_top_level_packages():
    # Run from a neutral directory so the source tree is not on sys.path.
    code = "import importlib.util as u; print([n for n in ('skills','planners','sim') if u.find_spec(n)])"
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_setup_maps_every_layer_subpackage_explicitly():
    code = (
        "import runpy, setuptools, json\n"
        "captured = {}\n"
        "setuptools.setup = lambda **kw: captured.update(kw)\n"
        "runpy.run_path('setup.py')\n"
        "print(json.dumps({'packages': captured['packages'], 'package_dir': captured['package_dir'],"
        " 'data_files': captured['data_files'], 'scripts': captured['entry_points']['console_scripts']}))\n"
    )
    import json

    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert not {"skills", "planners", "sim"} & set(info["packages"])
    for layer in ("skills", "planners", "sim"):
        assert info["package_dir"][f"robomatrix.{layer}"] == layer
    data = {dest: files for dest, files in info["data_files"]}
    assert data["share/ament_index/resource_index/packages"] == ["resource/robomatrix"]
    assert "launch/sim.launch.yaml" in data["share/robomatrix/launch"]
    scripts = {s.split("=")[0].strip() for s in info["scripts"]}
    assert {"robomatrix", "hardware_node"} <= scripts


def test_package_xml_is_format_3_ament_python():
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.findtext("name") == "robomatrix"
    assert root.find("export/build_type").text == "ament_python"
    assert {e.text for e in root.findall("exec_depend")} >= {"rclpy", "sensor_msgs", "geometry_msgs", "nav_msgs"}


def test_lint_rule_bans_bare_layer_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sim\nfrom skills import registry\nfrom planners.rule import RulePlanner\n")
    ruff = Path(sys.executable).parent / "ruff"
    out = subprocess.run([str(ruff), "check", "--config", str(ROOT / "pyproject.toml"), "--no-cache", str(bad)],
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert out.stdout.count("TID251") == 3, out.stdout
