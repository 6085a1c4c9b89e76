"""How fast does the loop close? From the Nth label landing to the new model serving on the agent.

Runs the closed-loop demo (``maskops_assets.demo``: the same processes, sensors and intervals as
``make demo``) and splits the time from the Nth label landing in the store (N = the label threshold:
the end of the last ``reviewed_labels`` pull before the retraining) to the canary camera's
``model_swapped`` event into stages, from what was recorded: run and step event times in the
Dagster instance, and the agent's JSON log. Prints one
line per stage, the total, everything but training against the 60 s target, and which stage
dominates.

    .venv/bin/python bench/loop_latency.py                    # a fresh demo in var/bench/loop_latency
    .venv/bin/python bench/loop_latency.py --scale ci         # the CI scale (minutes, tiny models)
    .venv/bin/python bench/loop_latency.py --from-home var    # split the last `make demo` instead

Exit code 1 when everything but training takes 60 s or more.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--home",
        type=Path,
        default=REPO / "var" / "bench" / "loop_latency",
        help="MASKOPS_HOME of the demo this bench runs",
    )
    parser.add_argument("--scale", choices=("demo", "ci"), default="demo")
    parser.add_argument(
        "--from-home",
        type=Path,
        default=None,
        help="do not run a demo: split the one recorded under this MASKOPS_HOME",
    )
    parser.add_argument("--dagster-port", type=int, default=3300)
    parser.add_argument("--labelstudio-port", type=int, default=8300)
    parser.add_argument("--agent-port", type=int, default=9300)
    args = parser.parse_args(argv)

    import dagster as dg

    from maskops_assets.demo.latency import TIMELINE, split, table
    from maskops_assets.demo.settings import DemoSettings

    if args.from_home is None:
        from maskops_assets.demo.console import Console
        from maskops_assets.demo.loop import run_demo
        from maskops_assets.demo.processes import interrupt_on_sigterm

        interrupt_on_sigterm()
        ports = dict(
            dagster_port=args.dagster_port, labelstudio_port=args.labelstudio_port, agent_port=args.agent_port
        )
        settings = (
            DemoSettings.ci(args.home, **ports)
            if args.scale == "ci"
            else DemoSettings(home=args.home, **ports)
        )
        run_demo(settings, Console(), report=False)
        home = settings.home.resolve()
    else:
        home = args.from_home.resolve()
    settings = DemoSettings(home=home)
    timeline = json.loads((settings.demo_dir / TIMELINE).read_text())
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)  # the instance's dagster.yaml reads it
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        stages = split(instance, timeline, Path(timeline["agent_log"]))
    print(
        f"\nloop latency: the label batch reaching {timeline['label_threshold']} new labels landing "
        f"-> {timeline['v2']} serving on {timeline['canary_camera']} (state: {home})"
    )
    print(table(stages))
    rest = sum(s.seconds for s in stages if not s.training)
    return 0 if rest < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
