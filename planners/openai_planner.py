"""The `openai` planner: any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, OpenAI, ours).

Where: `ROBOMATRIX_OPENAI_BASE_URL` (else `OPENAI_BASE_URL`), e.g. `http://127.0.0.1:8000/v1`;
which model: `ROBOMATRIX_OPENAI_MODEL` (else the first one `/models` lists); key:
`OPENAI_API_KEY` (sent as a bearer token when set). Options override all three.

The request carries the chat prompt of `robomatrix.planners.prompts` plus a machine-readable
block with the scene (which `robomatrix serve-planner` reads exactly), asks for JSON through
`response_format` (dropped when the endpoint refuses it) and accepts either JSON
(`{"steps": [{"skill", "args"}]}` or `{"refusal": "why"}`) or plan text
(`move_to(red can); grasp(red can);`). Every answer is checked against the skill registry
and the scene (`validate_plan`); anything else is rejected with the reason. Timeouts and
connection failures are retried with exponential backoff a bounded number of times, then
reported in one line naming the URL. With `images` on, `replan(..., image=frame)` sends the
camera frame as a base64 PNG beside the failure description (for vision-language models).
"""
from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from robomatrix.errors import RoboMatrixError, UsageError
from robomatrix.messages import Plan, SkillCall
from robomatrix.planners.base import (
    Planner,
    PlanningError,
    PlanValidationError,
    SceneObjects,
    planner_config,
    register_planner,
)
from robomatrix.planners.grammar import parse_plan_text
from robomatrix.planners.prompts import TokenUsage, chat_messages, tagged_request
from robomatrix.planners.validate import validate_plan
from robomatrix.skills.specs import skill_names, validate_call


def plan_schema() -> dict:
    """The JSON schema of an answer: steps of registered skills, or a refusal with the reason."""
    return {"type": "object", "properties": {
        "steps": {"type": "array", "items": {"type": "object", "properties": {
            "skill": {"type": "string", "enum": skill_names()}, "args": {"type": "object"}},
            "required": ["skill", "args"]}},
        "refusal": {"type": "string"}}, "required": ["steps"]}


@dataclass
class OpenAIPlannerConfig:
    """Settings of the `openai` planner; empty strings fall back to the environment."""

    base_url: str = ""  # e.g. http://127.0.0.1:8000/v1; "" = ROBOMATRIX_OPENAI_BASE_URL or OPENAI_BASE_URL
    model: str = ""  # "" = ROBOMATRIX_OPENAI_MODEL, else the first model the endpoint lists
    api_key: str = ""  # "" = OPENAI_API_KEY (may stay empty for local servers)
    timeout_s: float = 30.0  # per HTTP request
    retries: int = 2  # further attempts after a timeout, refused connection or 5xx
    backoff_s: float = 0.5  # wait before the first retry; doubles each time
    structured: bool = True  # ask for JSON via response_format (dropped if the endpoint refuses it)
    images: bool = False  # send the camera frame with replan requests (vision-language endpoints)
    temperature: float = 0.0  # sampling temperature of plan()

    def __post_init__(self):
        if not self.timeout_s > 0:
            raise ValueError(f"OpenAIPlannerConfig.timeout_s must be > 0, got {self.timeout_s!r}")
        if not 0 <= self.retries <= 10:
            raise ValueError(f"OpenAIPlannerConfig.retries must be within 0–10, got {self.retries!r}")
        if self.backoff_s < 0:
            raise ValueError(f"OpenAIPlannerConfig.backoff_s must be >= 0, got {self.backoff_s!r}")
        if not 0 <= self.temperature <= 2:
            raise ValueError(f"OpenAIPlannerConfig.temperature must be within 0–2, got {self.temperature!r}")


class EndpointError(RoboMatrixError):
    """The endpoint could not be reached or answered with an HTTP error (one line, naming the URL)."""


def png_data_url(image: Any) -> str:
    """A data: URL for a camera frame (H×W×3 uint8 RGB array) or PNG bytes."""
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
    else:
        import cv2
        import numpy as np

        arr = np.asarray(image)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise UsageError(f"The camera image must be H×W×3 RGB, got shape {arr.shape}.")
        ok, buf = cv2.imencode(".png", arr[:, :, ::-1].astype(np.uint8))
        data = buf.tobytes()
    return "data:image/png;base64," + base64.b64encode(data).decode()


def read_answer(content: str) -> list[SkillCall] | str:
    """Steps from a model's answer, or the refusal text; PlanValidationError when it is neither."""
    text = (content or "").strip()
    if text.startswith("```"):
        text = text.strip("`").split("\n", 1)[-1] if "\n" in text else text.strip("`")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise PlanValidationError(f"The model answered malformed JSON ({err.msg} at {err.pos}).") from None
        if not isinstance(data, dict):
            raise PlanValidationError("The model's JSON answer is not an object with 'steps'.")
        if data.get("refusal"):
            return str(data["refusal"])
        steps = data.get("steps")
        if not isinstance(steps, list):
            raise PlanValidationError("The model's JSON answer has no 'steps' list.")
        calls = []
        for i, s in enumerate(steps, start=1):
            if not isinstance(s, dict) or not isinstance(s.get("skill"), str):
                raise PlanValidationError(f"Step {i} of the model's answer is not {{'skill': ..., 'args': {{...}}}}.")
            try:
                validate_call(s["skill"], s.get("args") or {})
            except UsageError as err:
                raise PlanValidationError(f"Step {i} of the model's answer: {err}") from None
            calls.append(SkillCall(s["skill"], dict(s.get("args") or {})))
        return calls
    try:
        calls = parse_plan_text(text)
    except UsageError as err:
        raise PlanValidationError(f"The model's answer is not a plan: {err}") from None
    return "the model wrote cannot()" if calls is None else calls


class OpenAIPlanner(Planner):
    """Plans through an OpenAI-compatible `/chat/completions`; see the module docstring."""

    name = "openai"

    def __init__(self, config: OpenAIPlannerConfig | None = None, **overrides):
        self.config = planner_config(OpenAIPlannerConfig, config, overrides, "openai planner option")
        url = self.config.base_url or os.environ.get("ROBOMATRIX_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
        if not url:
            raise UsageError("The openai planner needs an endpoint: set ROBOMATRIX_OPENAI_BASE_URL "
                             "(e.g. http://127.0.0.1:8000/v1) or pass base_url.")
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"The openai planner's base URL must start with http:// or https://, got '{url}'.")
        self.base_url = url.rstrip("/")
        self.api_key = self.config.api_key or os.environ.get("OPENAI_API_KEY", "")
        self._model = self.config.model or os.environ.get("ROBOMATRIX_OPENAI_MODEL", "")
        self._structured = self.config.structured
        self._images = self.config.images
        self.last_usage: TokenUsage | None = None

    # -- HTTP ---------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        url = self.base_url + path
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode() if body is not None else None
        last = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                time.sleep(self.config.backoff_s * 2 ** (attempt - 1))
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.config.timeout_s) as resp:
                    return json.loads(resp.read().decode() or "{}")
            except urllib.error.HTTPError as err:
                detail = err.read().decode(errors="replace")[:300]
                if err.code >= 500 or err.code == 429:
                    last = f"HTTP {err.code}: {detail}"
                    continue
                raise EndpointError(f"The planner endpoint {url} answered HTTP {err.code}: {detail}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
                reason = getattr(err, "reason", err)
                last = "timed out" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else str(reason)
            except json.JSONDecodeError:
                raise EndpointError(f"The planner endpoint {url} did not answer JSON.") from None
        raise EndpointError(f"The planner endpoint {url} is unreachable ({last}; {self.config.retries + 1} attempts).")

    def model(self) -> str:
        if not self._model:
            models = self._request("GET", "/models").get("data") or []
            if not models:
                raise EndpointError(f"The planner endpoint {self.base_url} lists no models; set ROBOMATRIX_OPENAI_MODEL.")
            self._model = str(models[0]["id"])
        return self._model

    def complete(self, messages: list[dict], *, n: int = 1, temperature: float | None = None) -> tuple[list[str], TokenUsage]:
        """The answers' texts and the tokens the endpoint reports (prompt + completion)."""
        body: dict[str, Any] = {"model": self.model(), "messages": messages, "n": n,
                                "temperature": self.config.temperature if temperature is None else temperature}
        if self._structured:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "robot_plan", "schema": plan_schema()}}
        try:
            reply = self._request("POST", "/chat/completions", body)
        except EndpointError as err:
            if self._structured and "HTTP 4" in str(err) and "response_format" in str(err):
                self._structured = False  # the endpoint has no structured output: ask for text and parse it
                return self.complete(messages, n=n, temperature=temperature)
            raise
        choices = reply.get("choices") or []
        if not choices:
            raise PlanValidationError(f"The planner endpoint {self.base_url} returned no choices.")
        texts = [str((c.get("message") or {}).get("content") or "") for c in choices]
        u = reply.get("usage") or {}
        return texts, TokenUsage(u.get("prompt_tokens", 0), u.get("completion_tokens", 0), 1)

    # -- planning -----------------------------------------------------------------------------
    def messages(self, instruction: str, scene: SceneObjects, failure: str = "", image: Any = None,
                 history: list[str] | tuple = ()) -> list[dict]:
        msgs = chat_messages(instruction, scene, failure, history)
        text = msgs[-1]["content"] + "\n" + tagged_request(instruction, scene, failure, history)
        if image is not None and self._images:
            msgs[-1]["content"] = [{"type": "text", "text": text},
                                   {"type": "image_url", "image_url": {"url": png_data_url(image)}}]
        else:
            msgs[-1]["content"] = text
        return msgs

    def to_plan(self, answer: str, instruction: str, scene: SceneObjects, task_id: str = "") -> Plan:
        steps = read_answer(answer)
        if isinstance(steps, str):
            from robomatrix.planners.hf import refusal

            err = refusal(instruction, scene, self.name)
            raise type(err)(f"{err} (the model said: {steps})")
        plan = Plan(instruction=instruction, steps=steps, planner=self.name, task_id=task_id)
        validate_plan(plan, scene)
        return plan

    def generate(self, instruction: str, scene: SceneObjects, *, k: int = 1, sample: bool = False,
                 failure: str = "", done: list[SkillCall] | tuple = (), max_steps: int | None = None,
                 temperature: float | None = None) -> tuple[list[list[SkillCall] | None], TokenUsage]:
        """`k` plans in one request (`n`=k), each including the `done` steps; None for a refusal or
        an answer that is not a valid plan. With `done`, the endpoint is asked for the next step only."""
        from robomatrix.planners.grammar import step_text

        history = [step_text(s) + ";" for s in done]
        texts, usage = self.complete(self.messages(instruction, scene, failure, history=history), n=k,
                                     temperature=(temperature or 1.0) if sample else None)
        plans: list[list[SkillCall] | None] = []
        for text in texts:
            try:
                steps = read_answer(text)
                if isinstance(steps, str):
                    raise PlanValidationError(steps)
                steps = list(done) + steps[: None if max_steps is None else max(0, max_steps - len(done))]
                validate_plan(steps, scene)
                plans.append(steps)
            except PlanValidationError:
                plans.append(None)
        self.last_usage = usage
        return plans, usage

    def plan(self, instruction: str, scene: SceneObjects, task_id: str = "", failure: str = "",
             image: Any = None) -> Plan:
        if not isinstance(instruction, str) or not instruction.strip():
            raise PlanningError("The instruction is empty; say what to do, e.g. 'put the red can in the box'.")
        (answer,), usage = self.complete(self.messages(instruction, scene, failure, image))
        self.last_usage = usage
        return self.to_plan(answer, instruction, scene, task_id)

    def replan(self, plan: Plan, failure: str, scene: SceneObjects, image: Any = None) -> Plan:
        """Plan again with the failure in words (and the camera frame when `images` is on)."""
        return self.plan(plan.instruction, scene, task_id=plan.task_id, failure=failure, image=image)


register_planner("openai", OpenAIPlanner)
