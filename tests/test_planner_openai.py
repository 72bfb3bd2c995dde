"""The openai planner against a real HTTP server on 127.0.0.1 (serve-planner in-process), errors included."""
import json
import socket

import pytest

from robomatrix.errors import UsageError
from robomatrix.planners.base import PlanningError, PlanValidationError, SceneObjects, make_planner
from robomatrix.planners.grammar import canonical_steps, plan_text
from robomatrix.planners.openai_planner import EndpointError, OpenAIPlanner, read_answer
from robomatrix.planners.server import BackgroundServer, check_bind, create_app

SCENE = SceneObjects.from_names(["red can", "green can", "box"], hidden=["bin"])


@pytest.fixture(scope="module")
def rule_server():
    with BackgroundServer(create_app(make_planner("rule"))) as url:
        yield url


def test_plans_through_the_served_rule_planner(rule_server):
    planner = make_planner("openai", base_url=rule_server)
    plan = planner.plan("put the red can in the bin", SCENE)
    want = make_planner("rule").plan("put the red can in the bin", SCENE)
    assert canonical_steps(plan.steps) == canonical_steps(want.steps) and plan.planner == "openai"
    assert planner.model() == "robomatrix-rule"
    assert planner.last_usage.prompt_tokens > 100 and planner.last_usage.completion_tokens > 0


def test_environment_configures_the_endpoint(rule_server, monkeypatch):
    monkeypatch.delenv("ROBOMATRIX_OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", rule_server)
    monkeypatch.setenv("ROBOMATRIX_OPENAI_MODEL", "whatever")
    planner = OpenAIPlanner()
    assert planner.base_url == rule_server and planner.model() == "whatever"
    assert planner.plan("grab the green can", SCENE).steps[-1].skill == "grasp"
    monkeypatch.delenv("OPENAI_BASE_URL")
    with pytest.raises(UsageError, match="ROBOMATRIX_OPENAI_BASE_URL"):
        OpenAIPlanner()


def test_refusal_carries_the_reason(rule_server):
    planner = make_planner("openai", base_url=rule_server)
    with pytest.raises(PlanningError, match="purple"):
        planner.plan("put the purple can in the box", SCENE)


def test_served_hf_model_and_sampling():
    from robomatrix.planners.hf import HFPlanner

    hf = HFPlanner()
    with BackgroundServer(create_app(hf)) as url:
        planner = make_planner("openai", base_url=url)
        plan = planner.plan("grab the green can", SCENE)
        assert plan_text(plan.steps) == "move_to(green can); grasp(green can);"
        sent = planner.messages("grab the green can", SCENE)
        assert planner.last_usage.prompt_tokens == sum(
            len(hf.tokenizer.encode(m["content"], add_special_tokens=False)) for m in sent)
        plans, usage = planner.generate("grab the green can", SCENE, done=plan.steps[:1], max_steps=2)
        assert plan_text(plans[0]) == "move_to(green can); grasp(green can);" and usage.completion_tokens > 0
        texts, usage = planner.complete(planner.messages("put the green can in the box", SCENE), n=3, temperature=1.0)
        assert len(texts) == 3 and usage.calls == 1
        for t in texts:
            steps = read_answer(t)
            assert isinstance(steps, list) and steps


def test_unreachable_endpoint_names_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the with-block ends: nothing listens there
    planner = make_planner("openai", base_url=f"http://127.0.0.1:{port}/v1", model="m", retries=1, backoff_s=0.01)
    with pytest.raises(EndpointError, match=rf"127\.0\.0\.1:{port}/v1/chat/completions is unreachable"):
        planner.plan("put the red can in the box", SCENE)


def test_timeout_is_bounded():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)  # accepts connections, never answers
    port = listener.getsockname()[1]
    try:
        planner = make_planner("openai", base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout_s=0.3,
                               retries=1, backoff_s=0.01)
        with pytest.raises(EndpointError, match="timed out; 2 attempts"):
            planner.plan("put the red can in the box", SCENE)
    finally:
        listener.close()


def fixed_answer_app(content: str):
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/v1/chat/completions")
    def chat(body: dict):
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5}}

    return app


@pytest.mark.parametrize("content, match", [
    ("{not json", "malformed JSON"),
    (json.dumps({"plan": []}), "no 'steps' list"),
    (json.dumps({"steps": [{"skill": "teleport", "args": {}}]}), "Unknown skill 'teleport'"),
    (json.dumps({"steps": [{"skill": "grasp", "args": {"object": "purple can"}}]}), "no purple can in the scene"),
    (json.dumps({"steps": [{"skill": "lift", "args": {"object": "red can"}}]}), "not in the gripper"),
    ("move the can to the box", "not a plan"),
])
def test_malformed_model_output_is_rejected(content, match):
    with BackgroundServer(fixed_answer_app(content)) as url:
        planner = make_planner("openai", base_url=url, model="m")
        with pytest.raises(PlanValidationError, match=match):
            planner.plan("put the red can in the box", SCENE)


def test_plan_text_answers_are_accepted():
    with BackgroundServer(fixed_answer_app("move_to(red can); grasp(red can);")) as url:
        plan = make_planner("openai", base_url=url, model="m").plan("grab the red can", SCENE)
        assert [s.skill for s in plan.steps] == ["move_to", "grasp"]


def test_images_are_sent_as_base64_png():
    import numpy as np

    seen = {}
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/v1/chat/completions")
    def chat(body: dict):
        seen.update(body)
        return {"choices": [{"message": {"content": "search(bin);"}}]}

    with BackgroundServer(app) as url:
        planner = make_planner("openai", base_url=url, model="vlm", images=True)
        prev = make_planner("rule").plan("put the red can in the bin", SCENE)
        plan = planner.replan(prev, "the bin was not where expected", SCENE, image=np.zeros((8, 8, 3), np.uint8))
    assert plan.steps[0].skill == "search"
    parts = seen["messages"][-1]["content"]
    assert parts[0]["type"] == "text" and "the bin was not where expected" in parts[0]["text"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")


def test_token_protects_and_non_loopback_needs_it():
    with pytest.raises(UsageError, match="--token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "secret")
    check_bind("127.0.0.1", None)
    check_bind("localhost", None)
    with BackgroundServer(create_app(make_planner("rule"), token="secret")) as url:
        with pytest.raises(EndpointError, match="HTTP 401"):
            make_planner("openai", base_url=url, model="m", api_key="wrong").plan("grab the red can", SCENE)
        plan = make_planner("openai", base_url=url, model="m", api_key="secret").plan("grab the red can", SCENE)
        assert plan.steps[-1].skill == "grasp"


def test_serve_planner_cli_refuses_public_bind_without_token(capsys):
    from robomatrix.cli.main import main

    assert main(["serve-planner", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "--token" in capsys.readouterr().err


def test_server_reads_plain_chat_without_the_tagged_block(rule_server):
    import urllib.request

    body = {"model": "x", "messages": [{"role": "user", "content": "Instruction: dance"}]}
    req = urllib.request.Request(rule_server + "/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        reply = json.loads(resp.read())
    assert "refusal" in json.loads(reply["choices"][0]["message"]["content"])
    assert reply["usage"]["total_tokens"] == reply["usage"]["prompt_tokens"] + reply["usage"]["completion_tokens"]


