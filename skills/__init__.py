"""Skill layer: meta-skill registry, skill server, scripted and neural policies.

- `robomatrix.skills.specs`: what each meta-skill is (name, typed args, description, postcondition
  name, time limit) — what planners read;
- `robomatrix.skills.registry`: which policy runs it (`make_policy("scripted", "grasp")`);
- `robomatrix.skills.policies`: the scripted closed-loop controllers on perception output;
- `robomatrix.skills.runner.SkillRunner`: runs one skill on a robot with perception, lock-step in
  simulation or on the wall clock, and verifies its postcondition;
- `robomatrix.skills.server_node`: the `skill_server` ROS 2 node (action `/robomatrix/skill`);
- `robomatrix.skills.evaluate.evaluate_skills`: per-skill success rates (`robomatrix bench skills`);
- `robomatrix.skills.oracle_perception.OraclePerception`: ORACLE stand-in for perception (ablations).

    with make_robot("mujoco", camera_width=160, camera_height=120) as robot:
        robot.reset("pick", seed=0)
        runner = SkillRunner(robot, Perception())
        runner.run(SkillCall("search", {"object": "red can"}))
        result = runner.run(SkillCall("move_to", {"object": "red can"}))   # SkillResult
"""
