"""`robomatrix dataset info|view|merge`: look at demonstration datasets, combine them."""
from __future__ import annotations

import json

COMMAND = "dataset"
HELP = "demonstration datasets: info (episodes per skill, steps, size), view (an episode as MP4 with its actions)"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(title="dataset commands", dest="dataset_command", metavar="<subcommand>")
    info = sub.add_parser("info", help="episodes per skill, steps, successes, size on disk")
    info.add_argument("path", help="dataset folder (with index.jsonl)")
    info.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    info.set_defaults(handler=run_info)
    view = sub.add_parser("view", help="render an episode as MP4 with the actions drawn on")
    view.add_argument("path", help="dataset folder (with index.jsonl)")
    view.add_argument("--episode", type=int, default=0, help="episode index (default: 0)")
    view.add_argument("--out", default="episode.mp4", help="output video (default: episode.mp4)")
    view.set_defaults(handler=run_view)
    merge = sub.add_parser("merge", help="append the episodes of other datasets to a dataset (renumbered)")
    merge.add_argument("sources", nargs="+", help="dataset folders to copy episodes from, in order")
    merge.add_argument("--into", required=True, help="dataset folder to append to (created if missing)")
    merge.add_argument("--skills", default="", help="only episodes of these skills (comma-separated; default: all)")
    merge.add_argument("--exclude-skills", default="", help="leave out episodes of these skills (comma-separated)")
    merge.add_argument("--calls", default="", metavar="TEXT[;TEXT...]",
                       help="only episodes whose skill call contains one of these (';'-separated), e.g. "
                            "\"direction='forward'\"")
    merge.set_defaults(handler=run_merge)


def run_info(args) -> int:
    from robomatrix.skills.data.view import dataset_info, format_info

    info = dataset_info(args.path)
    if args.json:
        info["camera"] = [list(c) for c in info["camera"]]
        print(json.dumps(info))
    else:
        print(format_info(info))
    return 0


def run_view(args) -> int:
    from robomatrix.skills.data.view import render_episode

    result = render_episode(args.path, args.episode, args.out)
    print(f"wrote {result['out']}: {result['frames']} frames of episode {result['episode']} "
          f"({result['instruction']}, success={result['success']})")
    return 0


def run_merge(args) -> int:
    from robomatrix.cli.collect import parse_skills
    from robomatrix.skills.data.format import merge_datasets

    only = parse_skills(args.skills) if args.skills.strip() else None
    leave = parse_skills(args.exclude_skills) if args.exclude_skills.strip() else None
    calls = [c for c in args.calls.split(";") if c.strip()] or None
    print(json.dumps(merge_datasets(args.sources, args.into, skills=only, exclude_skills=leave, calls=calls)))
    return 0
