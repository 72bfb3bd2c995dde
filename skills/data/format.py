"""The demonstration dataset on disk (see FORMAT.md next to this file): write and read episodes.

A dataset is a folder with `index.jsonl` (one JSON line per episode: its metadata) and one
`episode_XXXXXX.npz` per episode (compressed camera frames as byte blobs plus float32 arrays).
Nothing here depends on who produced the demonstration (scripted expert, teleoperation, ...):
`source` in the metadata says so.

    writer = DatasetWriter("data/demos")
    writer.add(meta, rgb_frames, depth_frames, proprio, action, done, phase, progress)
    reader = DatasetReader("data/demos")
    ep = reader.load(0)           # arrays; frames stay compressed
    rgb = ep.rgb(10)              # (H, W, 3) uint8, decoded on access
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from robomatrix.errors import UsageError
from robomatrix.skills.specs import NUDGE_DIRECTIONS

FORMAT_VERSION = 1
INDEX_FILE = "index.jsonl"
PROPRIO_NAMES = ("ee_x_m", "ee_z_m", "gripper_opening", "base_vx_mps", "base_vy_mps", "base_wz_radps",
                 "odom_dx_m", "odom_dy_m", "odom_dyaw_rad", "elapsed_s")
"""Proprioception per step: arm (gripper centre x, z in base_link), measured gripper opening, base
velocity (base_link), base displacement since the skill started (odometry, in the start frame) and
seconds since the skill started."""
ACTION_NAMES = ("base_vx_mps", "base_vy_mps", "base_wz_radps", "arm_x_m", "arm_z_m", "gripper")
"""Action per step: base velocity command (base_link), arm target (x, z in base_link), gripper 0..1.
"Hold" commands are resolved to the held value, so every entry is a number."""
TARGET_NAMES = ("target_known", "target_in_view", "target_range_m", "target_sin_bearing", "target_cos_bearing",
                "target_facing_known", "target_sin_facing", "target_cos_facing")
"""Perception's belief about the object a call is about (`target_object`), per step: whether it is
known at all, whether it is in the current camera frame, and its range and bearing from the base
(camera detections carried by odometry while out of view; never simulator state); then, for an object
with a front (the drawer: the direction it pulls out), the turn that squares the base up to that front
(sin, cos; + = turn left). All zero when perception has not seen it, and in episodes recorded before
the array existed; episodes recorded before the facing values (5 columns) read back with them zero."""
TARGET_BASE_WIDTH = 5  # the first TARGET_NAMES, all a network without `facing_skills` is given
DIRECTION_NAMES = NUDGE_DIRECTIONS  # push's directions are a subset
"""A call's `direction` argument (push, nudge) as a one-hot over these, in the robot's frame
(`direction_vector`); derived from the episode's `args`, so every episode has it."""
SOURCES = ("scripted", "teleop", "dagger")
DEPTH_SCALE = 1000.0  # depth PNGs hold millimetres as uint16


@dataclass
class EpisodeMeta:
    """One line of index.jsonl."""

    skill: str  # meta-skill name, e.g. "grasp"
    instruction: str  # the text the policy is conditioned on, e.g. "grasp the red can"
    steps: int  # number of control steps recorded
    success: bool  # the skill's postcondition held at the end (and the oracle score agreed, if any)
    source: str = "scripted"  # who produced it: one of SOURCES ("dagger": a learner drove, the expert labelled)
    args: dict = field(default_factory=dict)  # the skill call's arguments
    call: str = ""  # SkillCall.to_text(), e.g. "grasp(object='red can')"
    scene: str = ""  # scene name the episode was recorded in
    seed: int = 0  # scene randomisation seed
    control_rate_hz: float = 20.0  # steps per second
    camera: tuple[int, int] = (0, 0)  # (width, height) of the stored frames
    oracle: dict = field(default_factory=dict)  # what used simulator ground truth, e.g. {"perception": False}
    outcome: dict = field(default_factory=dict)  # postcondition_ok, oracle_ok, reason, duration_s
    phases: list[str] = field(default_factory=list)  # names indexed by the episode's `phase` array
    id: int = -1  # set by DatasetWriter.add
    file: str = ""  # set by DatasetWriter.add
    created: float = 0.0  # unix time, set by DatasetWriter.add

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"EpisodeMeta.source must be one of {SOURCES}, got {self.source!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ValueError(f"EpisodeMeta.steps must be an integer >= 1, got {self.steps!r}")
        if not self.instruction:
            raise ValueError("EpisodeMeta.instruction must be non-empty")
        self.camera = tuple(int(v) for v in self.camera)


def encode_images(images, ext: str, params=()) -> tuple[np.ndarray, np.ndarray]:
    """Images → (one uint8 byte blob, int64 offsets of length n+1)."""
    blobs = []
    for img in images:
        ok, buf = cv2.imencode(ext, img, list(params))
        if not ok:
            raise OSError(f"could not encode a frame as {ext}")
        blobs.append(buf.reshape(-1))
    offsets = np.zeros(len(blobs) + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    data = np.concatenate(blobs) if blobs else np.zeros(0, np.uint8)
    return data.astype(np.uint8), offsets


def _decode(data: np.ndarray, offsets: np.ndarray, i: int, flags: int) -> np.ndarray:
    img = cv2.imdecode(data[offsets[i]:offsets[i + 1]], flags)
    if img is None:
        raise UsageError(f"frame {i} of an episode could not be decoded (corrupted file?).")
    return img


@dataclass
class StepBuffer:
    """The per-step arrays of one episode while it is recorded (what `DatasetWriter.add` takes)."""

    rgb: list = field(default_factory=list)
    depth: list = field(default_factory=list)
    proprio: list = field(default_factory=list)
    action: list = field(default_factory=list)
    done: list = field(default_factory=list)
    phase: list = field(default_factory=list)  # index into `phases`
    progress: list = field(default_factory=list)
    target: list = field(default_factory=list)  # TARGET_NAMES per step (`target_vector`)
    phases: list = field(default_factory=list)
    instruction: str = ""  # the call's instruction, from the perception state when it started
    target_name: str | None = None  # the object whose belief `target` records (`target_object`)

    def append(self, rgb, depth, obs, start_obs, state, action_row, done: bool, phase: str, progress: float) -> None:
        """One step: the frame, proprioception (`proprio_vector`) and perception's belief about
        `target_name` in `state` as the policy had them, the action row, and the expert's phase
        (registered in `phases` by name)."""
        if phase not in self.phases:
            self.phases.append(phase)
        self.rgb.append(rgb)
        self.depth.append(depth)
        self.proprio.append(proprio_vector(obs, start_obs))
        self.target.append(target_vector(state, self.target_name))
        self.action.append(action_row)
        self.done.append(bool(done))
        self.phase.append(self.phases.index(phase))
        self.progress.append(float(progress))


class DatasetWriter:
    """Appends episodes to a dataset folder (created if missing; an existing index is continued)."""

    def __init__(self, root, jpeg_quality: int = 90):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.jpeg_quality = int(jpeg_quality)
        index = self.root / INDEX_FILE
        self.next_id = len(read_index(self.root)) if index.exists() else 0

    def add(self, meta: EpisodeMeta, rgb, depth, proprio, action, done, phase=None, progress=None,
            target=None) -> EpisodeMeta:
        """Write one episode: `rgb` (T of (H, W, 3) uint8), `depth` (T of (H, W) float32 m, or None),
        `proprio` (T, len(PROPRIO_NAMES)), `action` (T, len(ACTION_NAMES)), `done` (T,) bool,
        `phase` (T,) int indices into `meta.phases`, `progress` (T,) 0..1, `target`
        (T, len(TARGET_NAMES)) or None (not recorded: read back as zeros)."""
        n = len(rgb)
        proprio, action = np.asarray(proprio, np.float32), np.asarray(action, np.float32)
        if proprio.shape != (n, len(PROPRIO_NAMES)) or action.shape != (n, len(ACTION_NAMES)):
            raise ValueError(f"episode arrays disagree: {n} frames, proprio {proprio.shape}, action {action.shape}")
        arrays = {
            "proprio": proprio, "action": action,
            "done": np.asarray(done, bool).reshape(n),
            "phase": np.zeros(n, np.int16) if phase is None else np.asarray(phase, np.int16).reshape(n),
            "progress": np.zeros(n, np.float32) if progress is None else np.asarray(progress, np.float32).reshape(n),
        }
        if target is not None and len(target):
            arrays["target"] = np.asarray(target, np.float32).reshape(n, len(TARGET_NAMES))
        bgr = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2BGR) for f in rgb]
        arrays["rgb_jpeg"], arrays["rgb_offsets"] = encode_images(bgr, ".jpg", (cv2.IMWRITE_JPEG_QUALITY,
                                                                                 self.jpeg_quality))
        if depth is not None:
            mm = [np.clip(np.nan_to_num(d) * DEPTH_SCALE, 0, 65535).astype(np.uint16) for d in depth]
            arrays["depth_png"], arrays["depth_offsets"] = encode_images(mm, ".png")
        meta.id, meta.steps, meta.created = self.next_id, n, round(time.time(), 3)
        meta.file = f"episode_{meta.id:06d}.npz"
        meta.camera = (int(rgb[0].shape[1]), int(rgb[0].shape[0]))
        np.savez(self.root / meta.file, **arrays)  # frames are already compressed
        with open(self.root / INDEX_FILE, "a") as f:
            f.write(json.dumps({"format_version": FORMAT_VERSION, **asdict(meta)}) + "\n")
        self.next_id += 1
        return meta


def merge_datasets(sources, dest, skills=None, exclude_skills=None, calls=None) -> dict:
    """Append every episode of dataset folders `sources` to dataset `dest` (created if missing),
    in order: episode files are copied and renumbered, metadata kept (its `merged_from` says where
    each came from). Only episodes of `skills` (all when None), none of `exclude_skills`, and with
    `calls` only those whose skill call contains one of its strings (e.g. "direction='forward'").
    Returns {"added", "skipped", "episodes"}."""
    import shutil

    dest = Path(dest)
    writer = DatasetWriter(dest)
    added = skipped = 0
    for src in sources:
        src = Path(src)
        if src.resolve() == dest.resolve():
            raise UsageError(f"cannot merge {src} into itself.")
        for row in read_index(src):
            if (skills is not None and row.get("skill") not in skills) or row.get("skill") in (exclude_skills or ()) \
                    or (calls and not any(c in str(row.get("call", "")) for c in calls)):
                skipped += 1
                continue
            new_id = writer.next_id
            meta = {**row, "id": new_id, "file": f"episode_{new_id:06d}.npz",
                    "merged_from": f"{src}/{row['file']}"}
            shutil.copyfile(src / row["file"], dest / meta["file"])
            with open(dest / INDEX_FILE, "a") as f:
                f.write(json.dumps(meta) + "\n")
            writer.next_id += 1
            added += 1
    return {"added": added, "skipped": skipped, "episodes": writer.next_id}


def read_index(root) -> list[dict]:
    """The index lines of dataset `root`; UsageError when it is not a dataset."""
    path = Path(root) / INDEX_FILE
    if not path.exists():
        raise UsageError(f"{root} is not a dataset: no {INDEX_FILE} (make one with `robomatrix collect`).")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise UsageError(f"{path} line {n} is not valid JSON.") from None
        if row.get("format_version", 0) > FORMAT_VERSION:
            raise UsageError(f"{path} line {n}: dataset format {row['format_version']} is newer than this "
                             f"code ({FORMAT_VERSION}).")
        rows.append(row)
    return rows


@dataclass
class Episode:
    """One episode's arrays; frames stay compressed until `rgb(t)` / `depth(t)`."""

    meta: dict
    proprio: np.ndarray  # (T, len(PROPRIO_NAMES)) float32
    action: np.ndarray  # (T, len(ACTION_NAMES)) float32
    done: np.ndarray  # (T,) bool
    phase: np.ndarray  # (T,) int16
    progress: np.ndarray  # (T,) float32
    target: np.ndarray  # (T, len(TARGET_NAMES)) float32; zeros when the episode did not record it
    rgb_jpeg: np.ndarray
    rgb_offsets: np.ndarray
    depth_png: np.ndarray | None = None
    depth_offsets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.action)

    def rgb(self, t: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB of step t."""
        return cv2.cvtColor(_decode(self.rgb_jpeg, self.rgb_offsets, t, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def depth(self, t: int) -> np.ndarray | None:
        """(H, W) float32 metres of step t, or None when the episode has no depth."""
        if self.depth_png is None:
            return None
        return _decode(self.depth_png, self.depth_offsets, t, cv2.IMREAD_UNCHANGED).astype(np.float32) / DEPTH_SCALE


class DatasetReader:
    """Read access to a dataset folder: `len(reader)`, `reader.meta[i]`, `reader.load(i)`."""

    def __init__(self, root):
        self.root = Path(root)
        self.meta = read_index(self.root)

    def __len__(self) -> int:
        return len(self.meta)

    def load(self, i: int) -> Episode:
        if not 0 <= i < len(self.meta):
            raise UsageError(f"episode {i} is not in {self.root} (it has {len(self.meta)}: 0..{len(self.meta) - 1}).")
        meta = self.meta[i]
        path = self.root / meta["file"]
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path} cannot be read ({type(exc).__name__}: {exc}).") from None
        missing = {"proprio", "action", "done", "rgb_jpeg", "rgb_offsets"} - set(arrays)
        if missing:
            raise UsageError(f"{path} lacks {', '.join(sorted(missing))} (not a RoboMatrix episode?).")
        n = len(arrays["action"])
        return Episode(meta=meta, proprio=arrays["proprio"], action=arrays["action"], done=arrays["done"],
                       phase=arrays.get("phase", np.zeros(n, np.int16)),
                       progress=arrays.get("progress", np.zeros(n, np.float32)),
                       target=_target_columns(arrays.get("target"), n),
                       rgb_jpeg=arrays["rgb_jpeg"], rgb_offsets=arrays["rgb_offsets"],
                       depth_png=arrays.get("depth_png"), depth_offsets=arrays.get("depth_offsets"))

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.iterdir() if p.is_file())


def _target_columns(target, n: int) -> np.ndarray:
    """An episode's `target` array as (n, len(TARGET_NAMES)): zeros when not recorded; older episodes'
    first TARGET_BASE_WIDTH columns padded with zeros (the facing not known)."""
    out = np.zeros((n, len(TARGET_NAMES)), np.float32)
    if target is not None:
        target = np.asarray(target, np.float32).reshape(n, -1)
        out[:, :min(target.shape[1], len(TARGET_NAMES))] = target[:, :len(TARGET_NAMES)]
    return out


def proprio_vector(obs, start_obs) -> np.ndarray:
    """PROPRIO_NAMES of `obs` (an Observation), relative to `start_obs` (the skill's first one)."""
    from robomatrix.hardware.kinematics import world_to_base_point, wrap_angle

    yaw0 = float(start_obs.base_pose[2])
    dx, dy = world_to_base_point(np.array([obs.base_pose[0], obs.base_pose[1], 0.0]), start_obs.base_pose)[:2]
    return np.array([obs.ee_position[0], obs.ee_position[1], obs.gripper_opening, *obs.base_velocity,
                     dx, dy, wrap_angle(float(obs.base_pose[2]) - yaw0), obs.stamp_s - start_obs.stamp_s],
                    np.float32)


def proprio_drop_mask(dropped_by_skill: dict, skill: str) -> np.ndarray:
    """(len(PROPRIO_NAMES),) bool: the proprioception values a network is not given for `skill`'s calls
    (NeuralPolicyConfig.proprio_dropped_by_skill); the trainer and the policy set them to NaN, which the
    model reads as the training mean."""
    mask = np.zeros(len(PROPRIO_NAMES), bool)
    for name in dropped_by_skill.get(skill, ()):
        mask[PROPRIO_NAMES.index(name)] = True
    return mask


def target_object(skill: str, args: dict) -> str | None:
    """The object a call of `skill` is about, whose TARGET_NAMES the policy is given: the container for
    `position_over`, the drawer for the drawer skills, else the `object` argument."""
    if skill in ("open_drawer", "close_drawer"):
        return "drawer"
    if skill == "position_over":
        return args.get("target")
    return args.get("object")


def target_vector(state, name: str | None) -> np.ndarray:
    """TARGET_NAMES of object `name` in `state` (a PerceptionState, or None): zeros when unknown."""
    obj = state.get(name) if state is not None and name else None
    if obj is None or obj.position_base is None:
        return np.zeros(len(TARGET_NAMES), np.float32)
    x, y = float(obj.position_base[0]), float(obj.position_base[1])
    bearing = math.atan2(y, x)
    facing = (0.0, 0.0, 0.0)
    if obj.kind == "drawer" and obj.yaw_odom is not None:  # the turn the drawer experts square up by
        from robomatrix.skills.policies.base import heading_to_face

        turn = heading_to_face(float(obj.yaw_odom) + math.pi, float(state.base_pose[2]))
        facing = (1.0, math.sin(turn), math.cos(turn))
    return np.array([1.0, float(bool(obj.in_view)), math.hypot(x, y), math.sin(bearing), math.cos(bearing),
                     *facing], np.float32)


def target_input(target: np.ndarray, skill: str, target_skills, facing_skills) -> np.ndarray:
    """What a network is given of `target` (TARGET_NAMES values, one step or (T, ...)) for a call of
    `skill`: zeros unless `skill` is a target skill; its facing values zero unless a facing skill too."""
    if skill not in target_skills:
        return np.zeros_like(target)
    if skill in facing_skills:
        return target
    out = np.array(target, np.float32, copy=True)
    out[..., TARGET_BASE_WIDTH:] = 0.0
    return out


def direction_vector(args: dict) -> np.ndarray:
    """DIRECTION_NAMES one-hot of the call's `direction` argument (zeros when it has none)."""
    out = np.zeros(len(DIRECTION_NAMES), np.float32)
    direction = (args or {}).get("direction")
    if direction in DIRECTION_NAMES:
        out[DIRECTION_NAMES.index(direction)] = 1.0
    return out
