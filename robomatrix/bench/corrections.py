"""`robomatrix bench corrections`: what language corrections and their memory buy, per scenario.

Scenarios (benchmarks/corrections/scenarios.yaml) are tasks the uncorrected stack fails at
systematically — an ambiguous referent, a preference the planner cannot know, a skill with an
injected offset error — with the words a person would say, played by the bench at skill events.
Per scenario, three modes, each a fresh `SimSession` (lock-step, camera perception, rule planner):

- baseline: `episodes` episodes (scene seeds seed … seed+N-1), nothing said, empty memory;
- live: the same seeds, the scripted corrections said; every correction recorded in the memory;
- memory: later episodes (seeds seed+N …), nothing said, the live episodes' memory applied.

Success is the person's intent scored from simulator ground truth (ORACLE, scoring only).
Correction-to-effect latency (wall ms): from `SimSession.correct` to the first control tick with
the new offset, or to the executive adopting the edited plan (see robomatrix.corrections.handler).
"""
from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robomatrix.errors import UsageError, unknown_name

DEFAULT_SCENARIOS = Path(__file__).resolve().parents[2] / "benchmarks" / "corrections" / "scenarios.yaml"
MODES = ("baseline", "live", "memory")
SUCCESS_KINDS = ("in_container", "grasped", "lifted")


@dataclass
class Scenario:
    """One scenario of the file (field meanings are documented at the top of scenarios.yaml)."""

    name: str
    kind: str
    instruction: str
    success: dict
    corrections: list[dict] = field(default_factory=list)
    scene: str = "office"
    fault: dict | None = None
    later: dict | None = None
    time_limit_s: float = 120.0

    def check(self, where: str) -> None:
        _success_check(self.success, f"{where}.success")
        if self.later is not None:
            if not isinstance(self.later, dict) or "instruction" not in self.later:
                raise UsageError(f"{where}.later must have an instruction (and a success)")
            _success_check(self.later.get("success", self.success), f"{where}.later.success")
        for i, c in enumerate(self.corrections):
            when = c.get("when") if isinstance(c, dict) else None
            if not isinstance(when, dict) or not isinstance(c.get("say"), str) or not (
                    when.get("question") is True or isinstance(when.get("skill_start"), str)):
                raise UsageError(f"{where}.corrections[{i}] must be {{when: {{question: true}} | "
                                 f"{{skill_start: SKILL}}, say: TEXT}}")
        if self.fault is not None:
            from robomatrix.skills.runner import MotionOffset
            from robomatrix.skills.specs import skill_spec

            skill_spec(self.fault.get("skill", ""))
            MotionOffset.from_dict(self.fault.get("offset", {}))


def _success_check(success: Any, where: str) -> None:
    if not isinstance(success, dict) or len(success) != 1:
        raise UsageError(f"{where} must be one of {{{' | '.join(SUCCESS_KINDS)}: [...]}}")
    (kind, args), = success.items()
    if kind not in SUCCESS_KINDS:
        raise unknown_name(f"success kind in {where}", kind, SUCCESS_KINDS)
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise UsageError(f"{where}.{kind} must be a list of names")


def load_scenarios(path: str | Path | None = None, names: tuple[str, ...] = ()) -> list[Scenario]:
    """The scenarios of `path` (default: the shipped file), only `names` when given."""
    import yaml

    path = Path(path) if path else DEFAULT_SCENARIOS
    if not path.exists():
        raise UsageError(f"scenario file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        raise UsageError(f"{path}: expected a mapping with a 'scenarios' list")
    out = []
    fields = set(Scenario.__dataclass_fields__)
    for i, raw in enumerate(data["scenarios"]):
        where = f"{path.name}: scenarios[{i}]"
        if not isinstance(raw, dict):
            raise UsageError(f"{where} must be a mapping")
        unknown = [k for k in raw if k not in fields]
        if unknown:
            raise unknown_name(f"field of {where}", unknown[0], sorted(fields))
        try:
            scenario = Scenario(**raw)
        except TypeError as exc:
            raise UsageError(f"{where}: {exc}") from None
        scenario.check(f"{where} ({scenario.name})")
        out.append(scenario)
    if names:
        by_name = {s.name: s for s in out}
        for n in names:
            if n not in by_name:
                raise unknown_name("scenario", n, by_name)
        out = [by_name[n] for n in names]
    return out


def _predicate(success: dict):
    from robomatrix.sim.tasks import grasped, in_container

    (kind, args), = success.items()
    if kind == "in_container":
        return in_container(*args)
    return grasped(args[0], lifted=kind == "lifted")


class _Person:
    """Says a scenario's corrections at their skill events (each once per episode)."""

    def __init__(self, corrections: list[dict]):
        self.corrections = corrections
        self.session = None
        self.said: list[str] = []
        self.heard: list[str] = []  # what the robot answered

    def new_episode(self) -> None:
        self.said, self.heard = [], []

    def _say(self, index: int) -> None:
        if index in self.said:
            return
        self.said.append(index)
        self.session.correct(self.corrections[index]["say"])

    def on_feedback(self, fb) -> None:
        for i, c in enumerate(self.corrections):
            want = c["when"].get("skill_start")
            if want is not None and (want == "any" or want == fb.skill):
                self._say(i)

    def on_status(self, status) -> None:
        if status.correction_level:
            self.heard.append(f"{status.correction_level}: {status.message}")
        if status.correction_level == "question" and not status.correction:  # the robot asks
            for i, c in enumerate(self.corrections):
                if c["when"].get("question"):
                    self._say(i)


def run_mode(scenario: Scenario, mode: str, seeds: list[int], memory_dir: str, camera=(320, 240),
             progress=None) -> dict[str, Any]:
    """Episodes of one scenario in one mode; per-episode rows and the handler's latencies."""
    from robomatrix.run import Hooks, RunConfig, SimSession
    from robomatrix.sim.tasks import OracleState
    from robomatrix.skills.runner import MotionOffset

    person = _Person(scenario.corrections if mode == "live" else [])
    cfg = RunConfig(scene=scenario.scene, camera_width=camera[0], camera_height=camera[1],
                    time_limit_s=float(scenario.time_limit_s),
                    memory=memory_dir if mode != "baseline" else None, apply_memory=mode == "memory",
                    ask_timeout_s=5.0 if mode == "live" else 0.0)
    task = scenario.later if (mode == "memory" and scenario.later) else {}
    instruction = task.get("instruction", scenario.instruction)
    check = _predicate(task.get("success", scenario.success))
    rows = []
    with SimSession(cfg, Hooks(on_feedback=person.on_feedback, on_status=person.on_status)) as session:
        person.session = session
        for seed in seeds:
            from robomatrix.sim.scene import build_scene

            scene = build_scene(scenario.scene, seed)
            session.reset(seed=seed, scene=scene)
            if scenario.fault:  # INJECTED FAULT: the skill is off by this much in every execution
                fault_skill, fault = scenario.fault["skill"], MotionOffset.from_dict(scenario.fault["offset"])
                session.runner.offset_sources.append(lambda call, s=fault_skill, f=fault: f if call.skill == s else None)
            person.new_episode()
            start = OracleState.capture(session.robot)  # ORACLE, scoring only
            result = session.run(instruction)
            end = OracleState.capture(session.robot)  # ORACLE, scoring only
            ok, why = check(scene, start, end)
            rows.append({"seed": seed, "success": bool(ok), "oracle": why, "outcome": result.report.outcome,
                         "reason": result.report.reason, "said": [scenario.corrections[i]["say"] for i in person.said],
                         "heard": list(person.heard), "applied_from_memory": list(session.planner.applied),
                         "skills": len(result.report.steps), "sim_time_s": round(result.sim_time_s, 2),
                         "wall_time_s": round(result.wall_time_s, 2)})
            if progress is not None:
                progress(f"{scenario.name} {mode} seed {seed}: {'ok' if ok else 'FAILED'} ({why})")
        latencies = list(session.corrections.handler.latencies_ms)
    return {"rows": rows, "latencies_ms": latencies, "instruction": instruction}


def run_corrections_bench(scenarios: list[Scenario], episodes: int = 5, seed: int = 0, camera=(320, 240),
                          memory_root: str | None = None, progress=None) -> dict[str, Any]:
    """Every scenario in every mode; the `--json` object."""
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise UsageError(f"episodes must be an integer >= 1, got {episodes!r}")
    wall0 = time.perf_counter()
    tmp = None
    if memory_root is None:
        tmp = tempfile.TemporaryDirectory(prefix="robomatrix-corrections-")
        memory_root = tmp.name
    per_scenario, latencies = {}, []
    totals = {m: [0, 0] for m in MODES}
    try:
        for sc in scenarios:
            memory_dir = str(Path(memory_root) / sc.name)
            first = list(range(seed, seed + episodes))
            later = list(range(seed + episodes, seed + 2 * episodes))
            out: dict[str, Any] = {"kind": sc.kind, "instruction": sc.instruction,
                                   "corrections": [c["say"] for c in sc.corrections]}
            for mode in MODES:
                got = run_mode(sc, mode, later if mode == "memory" else first, memory_dir, camera, progress)
                ok = sum(r["success"] for r in got["rows"])
                totals[mode][0] += ok
                totals[mode][1] += len(got["rows"])
                out[mode] = {"instruction": got["instruction"], "success_rate": round(ok / len(got["rows"]), 3),
                             "successes": ok, "episodes": len(got["rows"]),
                             "failures": [r for r in got["rows"] if not r["success"]]}
                if mode == "live":
                    out["live"]["latency_ms"] = [round(v, 2) for v in got["latencies_ms"]]
                    out["live"]["heard"] = got["rows"][0]["heard"] if got["rows"] else []
                    latencies += got["latencies_ms"]
                if mode == "memory":
                    out["memory"]["applied_from_memory"] = got["rows"][0]["applied_from_memory"] if got["rows"] else []
            per_scenario[sc.name] = out
    finally:
        if tmp is not None:
            tmp.cleanup()
    rate = {m: round(totals[m][0] / totals[m][1], 3) if totals[m][1] else 0.0 for m in MODES}
    return {
        "episodes": episodes, "seed": seed, "camera": f"{camera[0]}x{camera[1]}",
        "success_baseline": rate["baseline"], "success_live": rate["live"], "success_memory": rate["memory"],
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
        "latency_ms_max": round(max(latencies), 2) if latencies else None, "corrections_timed": len(latencies),
        "targets": {"success_live": 0.9, "success_memory": 0.9, "latency_ms_p50": 200.0},
        "met": {"success_live": rate["live"] >= 0.9, "success_memory": rate["memory"] >= 0.9,
                "latency_ms_p50": bool(latencies) and statistics.median(latencies) <= 200.0},
        "per_scenario": per_scenario, "wall_time_s": round(time.perf_counter() - wall0, 1),
    }


def format_report(result: dict) -> str:
    rows = [f"{'scenario':<22} {'kind':<34} {'baseline':>9} {'live':>9} {'memory':>9}"]
    for name, s in result["per_scenario"].items():
        cells = [f"{s[m]['successes']}/{s[m]['episodes']}" for m in MODES]
        rows.append(f"{name:<22} {s['kind']:<34} {cells[0]:>9} {cells[1]:>9} {cells[2]:>9}")
    rows.append(f"{'overall':<57} {result['success_baseline'] * 100:8.0f}% {result['success_live'] * 100:8.0f}% "
                f"{result['success_memory'] * 100:8.0f}%")
    p50 = result["latency_ms_p50"]
    rows.append(f"correction-to-effect latency p50: {p50 if p50 is not None else '-'} ms "
                f"({result['corrections_timed']} corrections; target <= 200 ms)")
    return "\n".join(rows)

