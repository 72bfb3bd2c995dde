"""Node console scripts: Ctrl-C or SIGTERM while a node is still importing ends it quietly."""
import importlib
import runpy
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from robomatrix import node_entry

ROOT = Path(__file__).resolve().parent.parent


def _setup_console_scripts() -> dict[str, str]:
    import setuptools

    captured = {}
    original = setuptools.setup
    setuptools.setup = lambda **kw: captured.update(kw)
    try:
        runpy.run_path(str(ROOT / "setup.py"), run_name="not_main")
    finally:
        setuptools.setup = original
    return dict(s.replace(" ", "").split("=") for s in captured["entry_points"]["console_scripts"])


def test_every_node_script_goes_through_the_guard_to_a_module_with_main():
    scripts = _setup_console_scripts()
    nodes = {name: target for name, target in scripts.items() if name != "robomatrix"}
    assert set(nodes) == set(node_entry.NODE_MODULES)
    for name, target in nodes.items():
        module, attr = target.split(":")
        assert (module, attr) == ("robomatrix.node_entry", name)
        assert callable(getattr(node_entry, name))
        assert callable(importlib.import_module(node_entry.NODE_MODULES[name]).main)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_while_importing_a_node_exits_130_without_a_traceback(tmp_path, sig):
    (tmp_path / "slow_node.py").write_text(textwrap.dedent("""
        import sys, time
        print("importing", flush=True)
        time.sleep(30)
        def main(args=None):
            print("main ran", flush=True)
    """))
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); from robomatrix.node_entry import run; run('slow_node')"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "importing"
        time.sleep(0.2)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "main ran" not in out


def test_main_runs_with_the_given_args_once_imported(tmp_path):
    (tmp_path / "quick_node.py").write_text("def main(args=None):\n    print('args', args)\n    return 0\n")
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); from robomatrix.node_entry import run; "
            "sys.exit(run('quick_node', ['--ros-args']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "args ['--ros-args']"
