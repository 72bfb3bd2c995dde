"""`robomatrix correct "<text>"`: a language correction to a launched graph, and what it understood.

    robomatrix correct "a bit to the left"
    understood (motion): move 3.0 cm left (grasp(object='red can'))

Publishes a `Correction` on /robomatrix/correction over DDS (localhost unless configured
otherwise, see README "Discovery and networks") and prints the executive's answer from
/robomatrix/status. Exit codes: 0 understood; 1 a question came back (nothing moved) or no
executive answered within --timeout; 2 bad usage (empty text).
"""
from __future__ import annotations

import time

COMMAND = "correct"
HELP = "send a language correction ('a bit to the left', 'no, the blue one', 'stop') to a launched graph"
CORRECTION_TOPIC = "/robomatrix/correction"
STATUS_TOPIC = "/robomatrix/status"


def add_arguments(parser) -> None:
    parser.add_argument("text", help="the correction, e.g. \"a bit to the left\" or \"put it in the box instead\"")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for the executive's answer (default: 5)")
    parser.add_argument("--json", action="store_true", help="print the answering ExecutiveStatus as JSON")
    parser.set_defaults(handler=correct)


def check_text(text: str) -> str:
    """The correction text, stripped; UsageError for nothing to say."""
    from robomatrix.errors import UsageError

    cleaned = " ".join(str(text).split())
    if not cleaned:
        raise UsageError('the correction is empty; say what to change, e.g. robomatrix correct "a bit to the left"')
    if len(cleaned) > 500:
        raise UsageError(f"the correction is {len(cleaned)} characters long; keep it under 500")
    return cleaned


def correct(args) -> int:
    from robomatrix import comm
    from robomatrix.errors import RoboMatrixError, UsageError
    from robomatrix.messages import Correction, ExecutiveStatus

    text = check_text(args.text)
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be > 0 s, got {args.timeout}.")
    ctx = comm.Context(transport="dds")
    try:
        node = comm.Node("robomatrix_correct", context=ctx)
        answers: list[ExecutiveStatus] = []
        node.create_json_subscription(ExecutiveStatus, STATUS_TOPIC,
                                      lambda s: answers.append(s) if s.correction == text else None,
                                      comm.QoSProfile(depth=50))
        pub = node.create_json_publisher(Correction, CORRECTION_TOPIC, 10)
        deadline = time.monotonic() + args.timeout
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            comm.spin_once(node, timeout_sec=0.05)
        if pub.get_subscription_count() == 0:
            raise RoboMatrixError(f"no executive listens on {CORRECTION_TOPIC} (waited {args.timeout:g} s): "
                                  "is a graph launched (robomatrix launch launch/sim.launch.yaml)?")
        pub.publish(Correction(text=text, stamp=time.time(), source="cli"))
        while not answers and time.monotonic() < deadline:
            comm.spin_once(node, timeout_sec=0.05)
        if not answers:
            raise RoboMatrixError(f"the executive did not answer on {STATUS_TOPIC} within {args.timeout:g} s")
        status = answers[0]
        if args.json:
            print(status.to_json())
        elif status.correction_level == "question":
            print(f"question: {status.message.removeprefix('Question: ')}")
        else:
            print(f"understood ({status.correction_level}): {status.message.split(': ', 1)[-1]}")
        return 1 if status.correction_level == "question" else 0
    finally:
        ctx.shutdown()
