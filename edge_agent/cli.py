"""``maskops-edge``: run the agent or check its config.

    maskops-edge validate-config agent.yaml       exit 0 and a summary, or exit 2 and one line per problem
    maskops-edge run --config agent.yaml [--until-sources-end]

Exit codes: 0 fine, 2 bad config or usage, 1 the agent could not start (the message says why).
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys
from collections.abc import Sequence

from edge_agent.logs import configure_logging, quiet_native_env

# Before OpenCV is loaded (the config imports it): FFmpeg and OpenCV would otherwise write raw
# lines into the agent's JSON log on stderr.
quiet_native_env()

from edge_agent.config import ConfigError, load_config, summarize  # noqa: E402

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maskops-edge", description="maskops edge agent (torch-free)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the agent until SIGTERM/SIGINT")
    run.add_argument("--config", required=True, help="agent YAML config")
    run.add_argument(
        "--until-sources-end",
        action="store_true",
        help="exit once every file/folder source has ended and the outbox is drained; "
        "prints a final JSON summary line on stdout",
    )
    check = sub.add_parser("validate-config", help="check a config file and print a summary")
    check.add_argument("config", help="agent YAML config")
    return parser


def _print_config_error(err: ConfigError) -> None:
    for line in err.problems:
        print(line, file=sys.stderr)
    print(
        f"{len(err.problems)} problem(s) in {err.path}; fix them and run validate-config again",
        file=sys.stderr,
    )


def _validate(path: str) -> int:
    try:
        cfg = load_config(path)
    except ConfigError as err:
        _print_config_error(err)
        return EXIT_BAD_CONFIG
    print(json.dumps({"config": path, "valid": True, **summarize(cfg)}, indent=2))
    return EXIT_OK


def _run(path: str, until_sources_end: bool) -> int:
    try:
        cfg = load_config(path)
    except ConfigError as err:
        _print_config_error(err)
        return EXIT_BAD_CONFIG
    configure_logging(cfg.log, capture_native=True)
    # Imported after the config is known good: it pulls in OpenCV, the ONNX runtime and boto3.
    from edge_agent.agent import EdgeAgent

    try:
        agent = EdgeAgent(cfg, until_sources_end=until_sources_end)
    except (OSError, sqlite3.Error) as err:
        print(f"maskops-edge: cannot prepare data_dir {cfg.data_dir} (outbox spool): {err}", file=sys.stderr)
        return EXIT_FAILED

    def on_signal(signum: int, _frame: object) -> None:
        agent.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        summary = agent.run()
    except OSError as err:
        # e.g. the /metrics port is taken
        print(f"maskops-edge: cannot start: {err}", file=sys.stderr)
        return EXIT_FAILED
    if until_sources_end:
        print(json.dumps(summary), flush=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "validate-config":
        return _validate(args.config)
    return _run(args.config, args.until_sources_end)


if __name__ == "__main__":
    sys.exit(main())
