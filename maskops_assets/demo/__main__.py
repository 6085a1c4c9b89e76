"""``python -m maskops_assets.demo`` (``make demo``): the closed loop with the real processes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from maskops_assets.demo.settings import DemoSettings


def parse(argv: list[str] | None = None) -> DemoSettings:
    defaults = DemoSettings()
    parser = argparse.ArgumentParser(prog="python -m maskops_assets.demo", description=__doc__)
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(os.environ.get("MASKOPS_HOME") or "var"),
        help="where every state lives (default var/, which `make ui` reads)",
    )
    parser.add_argument("--dagster-port", type=int, default=defaults.dagster_port)
    parser.add_argument("--labelstudio-port", type=int, default=defaults.labelstudio_port)
    parser.add_argument("--agent-port", type=int, default=defaults.agent_port)
    parser.add_argument("--label-threshold", type=int, default=defaults.label_threshold)
    parser.add_argument("--v1-epochs", type=int, default=defaults.v1_epochs)
    parser.add_argument("--v2-epochs", type=int, default=defaults.v2_epochs)
    parser.add_argument("--base-images", type=int, default=defaults.base_images)
    args = parser.parse_args(argv)
    return DemoSettings(
        home=args.home,
        dagster_port=args.dagster_port,
        labelstudio_port=args.labelstudio_port,
        agent_port=args.agent_port,
        label_threshold=args.label_threshold,
        v1_epochs=args.v1_epochs,
        v2_epochs=args.v2_epochs,
        base_images=args.base_images,
    )


def main(argv: list[str] | None = None) -> int:
    settings = parse(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from maskops_assets.demo.console import Console
    from maskops_assets.demo.loop import run_demo
    from maskops_assets.demo.processes import interrupt_on_sigterm
    from maskops_assets.demo.watch import RunFailed, StageTimeout

    interrupt_on_sigterm()
    console = Console()
    try:
        run_demo(settings, console)
    except KeyboardInterrupt:
        console.say("interrupted: every process the demo started was stopped")
        return 130
    except (StageTimeout, RunFailed):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
