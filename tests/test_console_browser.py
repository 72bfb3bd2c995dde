"""The console page in a real browser (Playwright driving Debian's Chromium, headless) against
`robomatrix run --console`'s backend: a simulation stepped in real time (here at 2x, to keep the
module short). One server and one browser for the module; the tests run in file order on the same
robot. Screenshots go to out/console/ (look at them)."""
import math
import os
import tempfile
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="Debian's Chromium is not installed (/usr/bin/chromium): "
                                       "apt-get install -y --no-install-recommends chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "out" / "console"
REALTIME_FACTOR = 2.0


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    from robomatrix.console.live import LiveSimBackend
    from robomatrix.console.server import ConsoleServer
    from robomatrix.run import RunConfig, SimSession

    session = SimSession(RunConfig(scene="office", seed=0, camera_width=160, camera_height=120))
    backend = LiveSimBackend(session, record_dir=tmp_path_factory.mktemp("demos"), realtime_factor=REALTIME_FACTOR)
    session.hooks = backend.hooks()
    backend.start()
    server = ConsoleServer(backend, port=0).start()
    yield backend, server
    server.stop()
    backend.close()


@pytest.fixture(scope="module")
def page(console):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                       args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.goto(console[1].url)
        yield page
        context.close()


def frame_count(page) -> int:
    return int(page.get_attribute("#frame-count", "data-count"))


def odom(page) -> tuple[float, float, float]:
    return tuple(float(page.get_attribute("#odom", f"data-{k}")) for k in ("x", "y", "yaw"))


def wait_until(predicate, timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_page_loads_and_the_camera_is_live_in_real_time(page, console):
    from robomatrix.console.live import MAX_LAG_S

    backend = console[0]
    page.wait_for_function("Number(document.querySelector('#frame-count').dataset.count) >= 3", timeout=15000)
    assert "one process" in page.inner_text("#mode") and page.inner_text("#conn") == "online"
    first, sim0, wall0 = frame_count(page), backend.robot.sim_time_s, time.monotonic()
    time.sleep(1.5)
    assert frame_count(page) >= first + 5  # ~10 frames/s of simulated time reach the page
    sim_s, wall_s = backend.robot.sim_time_s - sim0, time.monotonic() - wall0
    # Paced to the wall clock: never ahead of it by more than the lag it may catch up on (MAX_LAG_S).
    assert 0.3 * REALTIME_FACTOR * wall_s < sim_s <= REALTIME_FACTOR * (wall_s + MAX_LAG_S) + 0.1
    mean = page.evaluate("""() => { const c = document.querySelector('#camera');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i] + d[i + 1] + d[i + 2]; return s / (d.length / 4) / 3; }""")
    assert mean > 20  # an image, not a black canvas
    assert "detections" in page.inner_text("#frame-info")
    page.screenshot(path=str(SHOTS / "console_idle.png"))


def test_a_task_sent_from_the_page_runs(page):
    page.fill("#task", "nudge down")
    page.press("#task", "Enter")
    page.wait_for_selector("#plan li >> text=nudge(direction='down'", timeout=15000)
    page.wait_for_function("document.querySelector('#state').textContent === 'succeeded'", timeout=20000)
    assert page.get_attribute("#plan li", "data-state") == "done"
    page.wait_for_selector("#log >> text=task 'nudge down': succeeded", timeout=5000)


def test_stop_pauses_with_the_world_live_and_resume_goes_on(page, console):
    backend = console[0]
    page.fill("#task", "put the blue can in the box")
    page.press("#task", "Enter")
    try:
        page.wait_for_selector("#plan li[data-state=running] >> text=blue can", timeout=25000)
    except Exception as exc:
        raise AssertionError(f"the task did not start: {page.inner_text('#log')[-600:]}") from exc
    page.click("#stop")
    page.wait_for_function("document.querySelector('#state').textContent === 'paused'", timeout=10000)
    page.wait_for_selector("#plan li[data-state=paused] >> text=blue can", timeout=5000)
    frames, sim0 = frame_count(page), backend.robot.sim_time_s
    page.click("h1")
    yaw0 = odom(page)[2]
    page.keyboard.down("a")  # the person who paused drives by hand
    time.sleep(0.8)
    page.keyboard.up("a")
    time.sleep(0.3)
    assert frame_count(page) > frames + 3 and backend.robot.sim_time_s > sim0 + 0.5  # camera and physics go on
    assert abs(math.remainder(odom(page)[2] - yaw0, 2 * math.pi)) > 0.05
    page.screenshot(path=str(SHOTS / "console_paused.png"))
    page.click("#resume")
    page.wait_for_function("['executing', 'verifying'].includes(document.querySelector('#state').textContent)",
                           timeout=10000)
    page.fill("#correction", "cancel the task")
    page.press("#correction", "Enter")
    page.wait_for_function("['canceled', 'failed'].includes(document.querySelector('#state').textContent)",
                           timeout=15000)


def test_a_correction_changes_the_plan_on_screen(page, console):
    page.fill("#task", "move to the red can")
    page.press("#task", "Enter")
    page.wait_for_selector("#plan li[data-state=running] >> text=red can", timeout=15000)
    page.fill("#correction", "no, the blue one")
    page.press("#correction", "Enter")
    page.wait_for_selector("#plan li >> text=move_to(object='blue can')", timeout=10000)
    assert "red can" not in page.inner_text("#plan")
    page.wait_for_selector("#log >> text=correction from the console: no, the blue one", timeout=5000)
    page.screenshot(path=str(SHOTS / "console_correction.png"))
    page.wait_for_function("['succeeded', 'failed'].includes(document.querySelector('#state').textContent)",
                           timeout=30000)


def test_teleop_keys_move_the_robot(page):
    page.click("h1")  # keys go to the page, not to a text box
    x0, y0, _ = odom(page)
    page.keyboard.down("s")  # back, away from the can the last task drove up to
    time.sleep(1.0)
    page.keyboard.up("s")
    time.sleep(0.3)
    x1, y1, yaw1 = odom(page)
    assert math.hypot(x1 - x0, y1 - y0) > 0.1  # at 0.3 m/s (sim time runs 2x)
    page.keyboard.down("a")
    time.sleep(0.6)
    page.keyboard.up("a")
    time.sleep(0.3)
    assert math.remainder(odom(page)[2] - yaw1, 2 * math.pi) > 0.05  # turned left
    arm_z = float(page.inner_text("#arm").split()[3])
    page.keyboard.down("ArrowUp")
    time.sleep(0.5)
    page.keyboard.up("ArrowUp")
    time.sleep(0.4)
    assert float(page.inner_text("#arm").split()[3]) > arm_z + 0.02
    page.keyboard.press(" ")  # close the gripper
    page.wait_for_function("Number(document.querySelector('#arm').textContent.split(/\\s+/)[5]) < 0.5",
                           timeout=5000)
    page.keyboard.press(" ")  # and open it again
    page.wait_for_function("Number(document.querySelector('#arm').textContent.split(/\\s+/)[5]) > 0.9",
                           timeout=5000)


def test_a_gamepad_drives_the_robot(page):
    """The Gamepad API, with a pad of our own in place of the browser's (no device in CI)."""
    page.evaluate("""() => { window.testPad = {id: 'Test pad (STANDARD GAMEPAD)', axes: [0, 1, 0, 0],
        buttons: Array.from({length: 16}, () => ({pressed: false, value: 0}))};  // left stick back
        Object.defineProperty(navigator, 'getGamepads', {value: () => [window.testPad], configurable: true}); }""")
    x0, y0, _ = odom(page)
    time.sleep(1.0)
    page.evaluate("() => { window.testPad.axes = [0, 0, 0, 0]; }")  # stick released
    time.sleep(0.5)
    x1, y1, _ = odom(page)
    assert "Test pad" in page.inner_text("#gamepad")
    assert math.hypot(x1 - x0, y1 - y0) > 0.1
    time.sleep(0.5)
    x2, y2, _ = odom(page)
    assert math.hypot(x2 - x1, y2 - y1) < 0.02  # released: the robot stops
    page.evaluate("() => { Object.defineProperty(navigator, 'getGamepads', {value: () => [], configurable: true}); }")


def test_estop_stops_the_robot(page, console):
    backend = console[0]
    page.click("h1")
    page.keyboard.down("d")  # held: the page keeps sending teleop (turning right: nothing in the way)
    try:
        yaw0 = odom(page)[2]
        time.sleep(0.8)
        turned = abs(math.remainder(odom(page)[2] - yaw0, 2 * math.pi))
        assert turned > 0.05, (turned, page.inner_text("#teleop-state"), page.inner_text("#log")[-400:])
        page.click("#estop")
        page.wait_for_function("document.querySelector('#state').textContent === 'e-stop'", timeout=5000)
        time.sleep(0.5)  # braking within the robot's acceleration limit
        a = odom(page)
        time.sleep(0.8)
        b = odom(page)
        assert abs(math.remainder(b[2] - a[2], 2 * math.pi)) < 0.01  # stopped although "d" is still held
        assert math.hypot(b[0] - a[0], b[1] - a[1]) < 0.01
        assert backend.robot.estop and page.inner_text("#estop") == "RELEASE E-STOP"
        page.wait_for_selector("#toast.show >> text=e-stop is engaged", timeout=3000)
        page.screenshot(path=str(SHOTS / "console_estop.png"))
    finally:
        page.keyboard.up("d")
    page.click("#estop")
    page.wait_for_function("document.querySelector('#state').textContent !== 'e-stop'", timeout=5000)
    assert not backend.robot.estop


def test_recording_a_teleoperated_demonstration(page, console):
    from robomatrix.skills.data.format import DatasetReader, read_index

    page.select_option("#rec-skill", "nudge")
    page.select_option("#rec-args select[data-arg=direction]", "down")
    page.click("#rec-start")
    page.wait_for_function("document.querySelector('#rec-state').textContent.startsWith('recording')", timeout=5000)
    page.click("h1")
    page.keyboard.down("ArrowDown")
    time.sleep(0.8)
    page.keyboard.up("ArrowDown")
    time.sleep(0.3)
    page.click("#rec-stop")
    page.wait_for_selector("#rec-last >> text=episode_000000.npz", timeout=10000)
    page.screenshot(path=str(SHOTS / "console_recorded.png"))
    out = console[0].recorder.out
    (meta,) = read_index(out)
    assert (meta["source"], meta["skill"], meta["args"]) == ("teleop", "nudge", {"direction": "down", "amount": 0.05})
    assert meta["success"] and meta["outcome"]["postcondition_ok"]  # the gripper went down: perception agrees
    episode = DatasetReader(out).load(0)
    assert len(episode) == meta["steps"] >= 10 and episode.rgb(0).shape == (120, 160, 3)
    assert episode.action[-1, 4] < episode.action[0, 4] - 0.05  # the commanded arm z went down
    assert episode.done[-1] and not episode.done[0]


def test_with_a_token_the_page_needs_it(page, console):
    from robomatrix.console.server import ConsoleServer

    server = ConsoleServer(console[0], port=0, token="browser-test-token").start()
    other = page.context.new_page()
    try:
        response = other.goto(server.url.split("?")[0])
        assert response.status == 401 and "access token required" in other.inner_text("body")
        other.goto(server.url)  # ...?token=browser-test-token: the page, its script, the WebSocket
        other.wait_for_function("Number(document.querySelector('#frame-count').dataset.count) >= 2", timeout=15000)
        assert other.inner_text("#conn") == "online"
    finally:
        other.close()
        server.stop()

