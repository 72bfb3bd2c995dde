"""`console`: the web console attached to a launched graph, as a ROS 2 node (thin wrapper).

Subscribes
  /camera/color/image_raw   sensor_msgs/Image        the live camera (detections drawn on by the page)
  /camera/depth/image_raw   sensor_msgs/Image        (with camera_info: only while recording a demonstration)
  /camera/camera_info       sensor_msgs/CameraInfo
  /robomatrix/detections    std_msgs/String (Detections JSON)
  /robomatrix/plan          std_msgs/String (Plan JSON, latched)
  /robomatrix/status        std_msgs/String (ExecutiveStatus JSON, latched)
  /odom, /joint_states      the robot's odometry, arm and gripper
  /robomatrix/estop         std_msgs/Bool (latched)  whoever engaged it
Publishes
  /robomatrix/task          std_msgs/String (Task JSON, source "console")
  /robomatrix/correction    std_msgs/String (Correction JSON); Stop and Resume send "stop" / "resume"
  /cmd_vel, /arm/command, /gripper/command   teleop (at 20 Hz while driving; the watchdog ends it)
  /robomatrix/estop         std_msgs/Bool (latched)

Parameters: host (127.0.0.1), port (8765), token ('' = $ROBOMATRIX_CONSOLE_TOKEN or none; any
non-loopback host needs one), record_dir, teleop_rate_hz, serve (false: the caller serves the page,
as `robomatrix console` does).
"""
from __future__ import annotations

import os
import threading
import time

from robomatrix import comm
from robomatrix.console.backend import ConsoleBackend
from robomatrix.console.model import ConsoleModel
from robomatrix.console.protocol import ConsoleInputError, RecordCommand, TeleopCommand
from robomatrix.console.recording import TeleopRecorder
from robomatrix.console.teleop import Teleop
from robomatrix.errors import UsageError
from robomatrix.hardware import conversions as conv
from robomatrix.hardware.robot import Action, RobotConfig, clip_action
from robomatrix.messages import Correction, Detections, ExecutiveStatus, Plan, Task
from robomatrix.msgs import Bool, CameraInfo, Float64, Image, JointState, Odometry, Point, Twist, Vector3
from robomatrix.node_main import run_node

BUSY_STATES = ("planning", "executing", "verifying", "replanning", "editing")
DETECTIONS_WAIT_S = 0.5  # a frame waits this long for its detections before it is shown without them


class ConsoleNode(comm.Node, ConsoleBackend):
    def __init__(self, **node_kwargs):
        super().__init__("console", **node_kwargs)
        p = self.declare_parameter
        host = p("host", "127.0.0.1", description="address the web console binds").value
        port = int(p("port", 8765, description="web console port (0: any free port)").value)
        token = p("token", "", description="access token ('' = $ROBOMATRIX_CONSOLE_TOKEN or none)").value
        record_dir = p("record_dir", "out/console/demos", description="dataset folder for teleop demos").value
        rate_hz = float(p("teleop_rate_hz", 20.0, description="teleop command rate while driving, Hz").value)
        serve = bool(p("serve", True, description="serve the page from this node").value)
        if not rate_hz > 0:
            raise UsageError(f"Parameter 'teleop_rate_hz' of node 'console' must be > 0, got {rate_hz!r}.")
        token = token or os.environ.get("ROBOMATRIX_CONSOLE_TOKEN") or None

        self.model = ConsoleModel("graph")
        self.model.extra.update(corrections=True)
        self.teleop_state = Teleop()
        self.recorder = TeleopRecorder(record_dir, control_rate_hz=15.0)
        self._robot_limits = RobotConfig()
        self._lock = threading.Lock()
        self._frames: dict[float, object] = {}  # stamp → rgb, waiting for their detections
        self._last_detections_wall = 0.0
        self._assembler = None  # a FrameAssembler while recording (pairs colour, depth, state)
        self._perception = None
        self._last_applied = Action()
        self._last_obs = None  # the latest recorded observation (recording only)
        self._record_stamps: list[float] = []
        self._published = {"arm": None, "gripper": None, "base_moving": False}

        sensor = comm.QOS_SENSOR_DATA
        self.pub_task = self.create_json_publisher(Task, "/robomatrix/task", 10)
        self.pub_correction = self.create_json_publisher(Correction, "/robomatrix/correction", 10)
        self.pub_cmd_vel = self.create_publisher(Twist, "/cmd_vel", 10)
        self.pub_arm = self.create_publisher(Point, "/arm/command", 10)
        self.pub_gripper = self.create_publisher(Float64, "/gripper/command", 10)
        self.pub_estop = self.create_publisher(Bool, "/robomatrix/estop", comm.QOS_LATCHED)
        self.create_subscription(Image, "/camera/color/image_raw", self._on_rgb, sensor)
        self.create_subscription(Image, "/camera/depth/image_raw", self._on_depth, sensor)
        self.create_subscription(CameraInfo, "/camera/camera_info", self._on_info, sensor)
        self.create_json_subscription(Detections, "/robomatrix/detections", self._on_detections, 10)
        self.create_json_subscription(Plan, "/robomatrix/plan", self.model.set_plan, comm.QOS_LATCHED)
        self.create_json_subscription(ExecutiveStatus, "/robomatrix/status", self.model.set_status, comm.QOS_LATCHED)
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        self.create_subscription(JointState, "/joint_states", self._on_joints, 10)
        self.create_subscription(Bool, "/robomatrix/estop", self._on_estop, comm.QOS_LATCHED)
        self.create_timer(1.0 / rate_hz, self._on_teleop_tick)
        self.server = None
        self._spin_thread = None
        if serve:
            from robomatrix.console.server import ConsoleServer

            self.server = ConsoleServer(self, host=host, port=port, token=token).start()
            self.get_logger().info(f"console: {self.server.url}")

    # ------------------------------------------------------------------ robot → page
    def _on_rgb(self, msg: Image) -> None:
        stamp, rgb = msg.header.stamp.to_sec(), conv.image_to_array(msg)
        if time.monotonic() - self._last_detections_wall > DETECTIONS_WAIT_S:
            self.model.set_frame(rgb, stamp, [])  # no perception node (or it is slow): the plain frame
        else:
            self._frames[stamp] = rgb
            while len(self._frames) > 8:
                self._frames.pop(next(iter(self._frames)))
        if self._assembler is not None:
            self._record(self._assembler.add_rgb(stamp, rgb))

    def _on_detections(self, dets: Detections) -> None:
        self._last_detections_wall = time.monotonic()
        rgb = self._frames.pop(dets.stamp, None)
        if rgb is not None:
            self.model.set_frame(rgb, dets.stamp, dets.detections)

    def _on_depth(self, msg: Image) -> None:
        if self._assembler is not None:
            self._record(self._assembler.add_depth(msg.header.stamp.to_sec(), conv.image_to_array(msg)))

    def _on_info(self, msg: CameraInfo) -> None:
        if self._assembler is not None:
            from robomatrix.perception.node import intrinsics_from_camera_info

            self._assembler.intrinsics = intrinsics_from_camera_info(msg)

    def _on_odom(self, msg: Odometry) -> None:
        p, t = msg.pose.pose, msg.twist.twist
        pose = (p.position.x, p.position.y, conv.quaternion_to_yaw(p.orientation))
        self.model.odom = tuple(float(v) for v in pose)
        if self._assembler is not None:
            self._assembler.set_odometry(pose, (t.linear.x, t.linear.y, t.angular.z))

    def _on_joints(self, msg: JointState) -> None:
        values = dict(zip(msg.name, msg.position))
        x, z = (float(values.get(j, v)) for j, v in zip(conv.ARM_JOINTS, self.model.arm[:2]))
        self.model.arm = (x, z, float(values.get(conv.GRIPPER_JOINT, self.model.arm[2])))
        if self._assembler is not None:
            self._assembler.set_joints(list(msg.name), list(msg.position))

    def _on_estop(self, msg: Bool) -> None:
        if bool(msg.data) != self.model.estop:
            self.model.estop = bool(msg.data)
            self.model.log("E-STOP ENGAGED" if msg.data else "e-stop released", "error" if msg.data else "info")

    # ------------------------------------------------------------------ teleop
    def _busy(self) -> bool:
        status = self.model.status
        return status is not None and status.state in BUSY_STATES

    def _on_teleop_tick(self) -> None:
        with self._lock:
            action = self.teleop_state.action(time.monotonic(), self.model.arm[:2])
            status = self.teleop_state.status
        if action is None or self.model.estop:
            return
        applied = clip_action(action, self._robot_limits, self._last_applied.base_velocity, dt_s=0.05)
        moving = any(v != 0.0 for v in applied.base_velocity)
        if moving or self._published["base_moving"]:  # while driving, then one stop
            vx, vy, wz = applied.base_velocity
            self.pub_cmd_vel.publish(Twist(linear=Vector3(x=vx, y=vy, z=0.0), angular=Vector3(x=0.0, y=0.0, z=wz)))
        self._published["base_moving"] = moving
        if applied.arm_target is not None and applied.arm_target != self._published["arm"]:
            self.pub_arm.publish(Point(x=applied.arm_target[0], y=0.0, z=applied.arm_target[1]))
            self._published["arm"] = applied.arm_target
        if applied.gripper is not None and applied.gripper != self._published["gripper"]:
            self.pub_gripper.publish(Float64(data=applied.gripper))
            self._published["gripper"] = applied.gripper
        self._last_applied = applied
        self.model.teleop = status

    def teleop(self, command: TeleopCommand) -> None:
        if self.model.estop:
            raise ConsoleInputError("the e-stop is engaged: release it first")
        if self._busy():
            self.model.teleop = "refused while a task runs"
            raise ConsoleInputError("a task is running: stop it before driving by hand")
        with self._lock:
            self.teleop_state.command(command.base, command.arm, command.gripper, time.monotonic())

    def teleop_release(self) -> None:
        with self._lock:
            self.teleop_state.release()
        if self._published["base_moving"]:
            self.pub_cmd_vel.publish(Twist())
            self._published["base_moving"] = False
        self._published["arm"] = self._published["gripper"] = None

    # ------------------------------------------------------------------ page → graph
    def submit_task(self, text: str) -> None:
        if self.model.estop:
            raise ConsoleInputError("the e-stop is engaged: release it first")
        self.teleop_release()
        self.pub_task.publish(Task(instruction=text, stamp=self.get_clock().now(), source="console"))

    def correct(self, text: str) -> None:
        self.pub_correction.publish(Correction(text=text, stamp=self.get_clock().now(), source="console"))

    def stop(self) -> None:
        self.correct("stop")

    def resume(self) -> None:
        self.correct("resume")

    def set_estop(self, engaged: bool) -> None:
        if engaged:
            self.teleop_release()
        self.pub_estop.publish(Bool(data=bool(engaged)))
        if engaged != self.model.estop:
            self.model.estop = engaged
            self.model.log("E-STOP ENGAGED from the console" if engaged else "e-stop released from the console",
                           "error" if engaged else "info")

    # ------------------------------------------------------------------ demonstrations
    def record(self, command: RecordCommand) -> None:
        with self._lock:
            if command.action == "start":
                if self._busy():
                    raise ConsoleInputError("a task is running: record demonstrations with the robot idle")
                from robomatrix.perception import Perception
                from robomatrix.perception.node import FrameAssembler
                from robomatrix.perception.robot_model import camera_pose_base, load_robot_description

                self.model.recording = self.recorder.start(command.skill, command.args)
                self._perception = Perception()
                assembler = FrameAssembler(camera_pose_base(load_robot_description(None)))
                assembler.set_odometry(self.model.odom, (0.0, 0.0, 0.0))
                self._assembler = assembler
                self._record_stamps = []
                self.model.log(f"recording a teleop demonstration of {self.model.recording['call']} "
                               "(one step per camera frame)")
            elif command.action == "discard":
                self._assembler = None
                self.recorder.discard()
                self.model.recording = self.recorder.status()
                self.model.log("demonstration discarded")
            else:
                self._assembler = None
                obs, state = self._last_obs, self._perception.state if self._perception else None
                stamps = self._record_stamps
                if len(stamps) >= 2 and stamps[-1] > stamps[0]:  # one step per camera frame: its rate
                    self.recorder.control_rate_hz = round((len(stamps) - 1) / (stamps[-1] - stamps[0]), 2)
                try:
                    saved = self.recorder.stop(obs, state)
                finally:
                    self.model.recording = self.recorder.status()
                self.model.log(f"saved demonstration {saved['file']} ({saved['steps']} steps, "
                               f"{'success' if saved['success'] else 'postcondition not met: ' + saved['reason']})")

    def _record(self, obs) -> None:
        """A colour+depth pair with the robot state: one demonstration step (executor thread)."""
        if obs is None or self._perception is None:
            return
        state = self._perception.update(obs)
        with self._lock:
            self._last_obs = obs
            self._record_stamps.append(obs.stamp_s)
            self.recorder.add(obs, state, self._last_applied)
            self.model.recording = self.recorder.status()

    def spin_in_background(self) -> ConsoleNode:
        """Spin this node on its own thread (when the caller's thread serves the page)."""
        self._executor = comm.SingleThreadedExecutor([self])
        self._spin_thread = threading.Thread(target=self._executor.spin, name="console-node", daemon=True)
        self._spin_thread.start()
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        thread, self._spin_thread = getattr(self, "_spin_thread", None), None
        if thread is not None:
            self._executor.shutdown()
            thread.join(timeout=5.0)

    def destroy_node(self):
        self.close()
        super().destroy_node()


def main(args=None):
    """Entry point for `ros2 run robomatrix console` and `robomatrix launch`."""
    run_node(ConsoleNode, args)


if __name__ == "__main__":
    main()
