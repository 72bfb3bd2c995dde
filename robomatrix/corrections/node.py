"""Corrections in a launched graph: what the `executive` node adds for `/robomatrix/correction`.

`attach_corrections(executive_node)` (one call in the node's constructor) gives the node:

Subscribes  /robomatrix/correction   std_msgs/String (Correction JSON)  a person's correction, any time
Publishes   /robomatrix/skill_adjust std_msgs/String (SkillAdjust JSON) motion offsets for the skill server
            /robomatrix/status       (the node's own publisher) what was understood, or a question back
Parameters  corrections_memory (directory, e.g. ~/.robomatrix/corrections, shared with the skill server's
            parameter of that name; default "": kept in this process only),
            corrections_apply_memory (apply remembered corrections to new tasks, default true),
            corrections_ask_timeout_s (> 0: an ambiguous referent is asked back and the answer waited
            for; default 0: refused at once), corrections_camera_topic (the RGB image stored with each
            correction; default /camera/color/image_raw, "" for none)

The executive's planner is wrapped in a `MemoryPlanner`; each task run starts a correction task
(instruction for grounding, standing offsets cleared, also on the skill server). The latest camera
image is kept (not decoded) so that a correction is stored with the frame the person saw.
"""
from __future__ import annotations

from robomatrix.corrections.handler import CorrectionHandler
from robomatrix.corrections.memory import CorrectionMemory
from robomatrix.messages import Correction, SkillAdjust
from robomatrix.skills.runner import MotionOffset

CORRECTION_TOPIC = "/robomatrix/correction"
SKILL_ADJUST_TOPIC = "/robomatrix/skill_adjust"


def attach_corrections(node) -> CorrectionHandler:
    """Wire corrections into an `ExecutiveNode` (needs `executive`, `scene`, `pub_status`)."""
    p = node.declare_parameter
    directory = str(p("corrections_memory", "", description="corrections memory directory ('' = none); "
                      "give the skill server the same one").value)
    apply_memory = bool(p("corrections_apply_memory", True, description="apply remembered corrections").value)
    ask_timeout_s = float(p("corrections_ask_timeout_s", 0.0,
                            description="ask back an ambiguous referent and wait this long, s (0: refuse)").value)
    camera_topic = str(p("corrections_camera_topic", "/camera/color/image_raw",
                         description="RGB image stored with each correction ('' = none)").value)
    memory = CorrectionMemory(directory or None)
    latest_image: list = [None]
    if camera_topic:
        from robomatrix import comm
        from robomatrix.msgs import Image

        node.create_subscription(Image, camera_topic, lambda msg: latest_image.__setitem__(0, msg),
                                 comm.QOS_SENSOR_DATA)

    def frame():
        from robomatrix.hardware.conversions import image_to_array

        return image_to_array(latest_image[0]) if latest_image[0] is not None else None

    executive = node.executive
    pub_adjust = node.create_json_publisher(SkillAdjust, SKILL_ADJUST_TOPIC, 10)
    clock = node.get_clock().now

    def adjust(offset: MotionOffset) -> str:
        pub_adjust.publish(SkillAdjust(offset=offset.to_dict(), scope="running", stamp=float(clock())))
        plan, index = executive.current
        return plan.steps[index].to_text() if plan is not None and 0 <= index < len(plan.steps) else ""

    def skill_offset(skill: str, noun: str, offset: MotionOffset, except_call: str = "") -> None:
        pub_adjust.publish(SkillAdjust(offset=offset.to_dict(), scope="skill", skill=skill, noun=noun,
                                       except_call=except_call, stamp=float(clock())))

    handler = CorrectionHandler(executive, None, node.scene, adjust=adjust, skill_offset=skill_offset, memory=memory,
                                frame=frame, on_status=node.pub_status.publish, clock=clock, source="topic")
    executive.planner = handler.wrap_planner(executive.planner, apply_memory, ask_timeout_s)
    handler.follow(executive)
    run = executive.run

    def run_with_corrections(instruction: str, task_id: str = "", *args, **kwargs):
        handler.start_task(instruction, task_id)
        pub_adjust.publish(SkillAdjust(scope="clear", stamp=float(clock())))
        return run(instruction, task_id, *args, **kwargs)
    executive.run = run_with_corrections

    def on_correction(msg: Correction) -> None:
        try:
            handler.handle(msg.text, msg.source or "topic")
        except Exception as exc:  # the node must survive any correction
            node.get_logger().error(f"correction '{msg.text}' failed: {type(exc).__name__}: {exc}")

    node.create_json_subscription(Correction, CORRECTION_TOPIC, on_correction, 10)
    return handler


def attach_skill_adjust(node, runner, memory_dir: str = "") -> None:
    """Wire `/robomatrix/skill_adjust` into a skill server: running offsets into `runner.adjust`,
    standing ones into an offset source; remembered fixes from `memory_dir` when given."""
    from robomatrix.corrections.handler import TaskOffsets

    standing = TaskOffsets()
    runner.offset_sources.append(standing)
    if memory_dir:
        memory = CorrectionMemory(memory_dir)
        runner.offset_sources.append(lambda call: memory.refresh().offset_for(call))

    def on_adjust(msg: SkillAdjust) -> None:
        try:
            if msg.scope == "clear":
                standing.clear()
                return
            offset = MotionOffset.from_dict(msg.offset)
        except Exception as exc:
            node.get_logger().warning(f"Dropped a bad skill adjustment: {exc}", throttle_duration_sec=5.0)
            return
        if msg.scope == "skill":  # the running skill gets its own "running" adjustment from the executive
            standing.add(msg.skill, msg.noun, offset, except_call=msg.except_call)
        else:
            runner.adjust(offset)
    node.create_json_subscription(SkillAdjust, SKILL_ADJUST_TOPIC, on_adjust, 10)
