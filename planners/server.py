"""An OpenAI-compatible endpoint serving any of our planners (`robomatrix serve-planner`).

`POST /v1/chat/completions` reads the last user message. When it carries the block the
`openai` planner appends (`robomatrix.planners.prompts.tagged_request`), the scene, the
failure and the history come from it exactly; otherwise the text after `Instruction:` (or the
whole message) is the instruction and the scene is empty. The answer's content is JSON:
`{"steps": [{"skill", "args"}, ...]}` or `{"refusal": "why"}`. `usage` counts tokens with the
served model's tokenizer when it has one (else whitespace-separated words): prompt tokens are
the messages received, as any endpoint bills them; completion tokens are those the model
generated. `n` > 1 samples several plans when the planner can sample (`hf`), else repeats
the plan. A request with a history (steps done so far) gets only the next step.
`GET /v1/models` lists one model, named after the planner.

Loopback only unless a token is given: `serve(host="0.0.0.0")` without `token` is refused.
With a token, every request needs `Authorization: Bearer <token>`.
"""

import json
import threading
import time
import uuid
from typing import Any

from robomatrix.errors import UsageError
from robomatrix.netaddr import is_loopback
from robomatrix.planners.base import Planner, PlanningError, SceneObjects, make_planner
from robomatrix.planners.grammar import parse_plan_text, plan_text
from robomatrix.planners.prompts import read_tagged_request


def check_bind(host: str, token: str | None) -> None:
    """UsageError unless `host` is loopback or a token protects the endpoint."""
    if not is_loopback(host) and not token:
        raise UsageError(f"Refusing to serve the planner on non-loopback host '{host}' without --token "
                         "(anyone on the network could drive the robot); pass --token or use 127.0.0.1.")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def create_app(planner: Planner, *, model_name: str = "", token: str | None = None):
    """A FastAPI app answering chat completions with `planner`."""
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse

    app = FastAPI(title="robomatrix planner", docs_url=None, redoc_url=None)
    name = model_name or f"robomatrix-{planner.name}"
    lock = threading.Lock()

    def authorise(request: Request) -> None:
        if token and request.headers.get("authorization", "") != f"Bearer {token}":
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    @app.get("/v1/models")
    def models(request: Request):
        authorise(request)
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "robomatrix"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        authorise(request)
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return JSONResponse({"error": {"message": "the body is not JSON"}}, status_code=400)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return JSONResponse({"error": {"message": "'messages' must be a non-empty list"}}, status_code=400)
        n = int(body.get("n") or 1)
        if not 1 <= n <= 64:
            return JSONResponse({"error": {"message": "'n' must be within 1–64"}}, status_code=400)
        user = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        req = read_tagged_request(user)
        if req is not None:
            instruction, scene = req.get("instruction", ""), SceneObjects.from_dict(req.get("scene") or {})
            failure = req.get("failure", "")
            try:
                done = parse_plan_text(" ".join(req.get("history") or [])) or []
            except UsageError as err:
                return JSONResponse({"error": {"message": f"bad history: {err}"}}, status_code=400)
        else:
            marker = user.rfind("Instruction:")
            instruction = (user[marker + len("Instruction:"):] if marker >= 0 else user).strip().split("\n")[0]
            scene, failure, done = SceneObjects(), "", []
        temperature = float(body.get("temperature") or 0.0)
        with lock:
            answers, generated = _answer(planner, instruction, scene, failure, n, temperature, done)
            prompt_tokens = _count_tokens(planner, [_text(m.get("content")) for m in messages])
        completion = generated if generated is not None else sum(len(a.split()) for a in answers)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                 "total_tokens": prompt_tokens + completion}
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
                "model": name, "usage": usage,
                "choices": [{"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": a}}
                            for i, a in enumerate(answers)]}

    return app


def _answer(planner: Planner, instruction: str, scene: SceneObjects, failure: str, n: int,
            temperature: float, done: list) -> tuple[list[str], int | None]:
    """n answer texts and, for model planners, the tokens the model generated.

    With `done` steps (iterative planning), a planner that can sample writes only the next step
    (an empty `steps` list ends the plan).
    """
    def as_json(steps) -> str:
        return json.dumps({"steps": [{"skill": s.skill, "args": dict(s.args)} for s in steps],
                           "text": plan_text(steps)})

    generate = getattr(planner, "generate", None)
    if generate is not None and (n > 1 or temperature > 0 or done):
        plans, usage = generate(instruction, scene, k=n, sample=temperature > 0, failure=failure, done=done,
                                max_steps=len(done) + 1 if done else None, temperature=temperature or None)
        out = []
        for steps in plans:
            if steps is None:
                from robomatrix.planners.hf import refusal

                out.append(json.dumps({"refusal": str(refusal(instruction, scene, planner.name))}))
            else:
                out.append(as_json(steps[len(done):]))
        return out, usage.completion_tokens
    try:
        plan = planner.plan(instruction, scene) if not failure else \
            planner.replan(_plan_for(instruction), failure, scene)
        text = as_json(plan.steps)
    except PlanningError as err:
        text = json.dumps({"refusal": str(err)})
    used = getattr(planner, "last_usage", None)
    return [text] * n, (used.completion_tokens * n if used else None)


def _count_tokens(planner: Planner, texts: list[str]) -> int:
    """Tokens of `texts` with the served model's tokenizer, else whitespace-separated words."""
    tok = getattr(planner, "tokenizer", None)
    if tok is not None:
        return sum(len(tok.encode(t, add_special_tokens=False)) for t in texts)
    return sum(len(t.split()) for t in texts)


def _plan_for(instruction: str):
    from robomatrix.messages import Plan

    return Plan(instruction=instruction, steps=[])


class BackgroundServer:
    """uvicorn in a thread (tests, benches, `serve-planner` itself): `with BackgroundServer(app) as url: ...`."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import uvicorn

        self.config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="planner-server", daemon=True)

    def start(self, timeout_s: float = 15.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise UsageError(f"The planner server did not start on {self.config.host}:{self.config.port}.")
            time.sleep(0.02)
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}/v1"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(planner_name: str, host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
          planner_options: dict | None = None) -> None:
    """Serve `planner_name` until interrupted (blocking)."""
    import uvicorn

    check_bind(host, token)
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be within 0–65535, got {port}.")
    app = create_app(make_planner(planner_name, **(planner_options or {})), token=token)
    uvicorn.run(app, host=host, port=port, log_level="info")
