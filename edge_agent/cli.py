"""``maskops-edge``: run the agent or check its config.

    maskops-edge validate-config agent.yaml       exit 0 and a summary, or exit 2 and one line per problem
    maskops-edge run --config agent.yaml [--until-sources-end]

Exit codes: 0 fine, 2 bad config or usage, 1 the agent could not start (the message says why).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
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

#: glibc malloc arenas the agent process may use (see ``tune_malloc``)
MALLOC_ARENAS = 2
#: allocations from this size up get their own mapping, handed back to the OS when freed
MALLOC_MMAP_THRESHOLD = 1 << 20
#: mallopt's parameter numbers (glibc's malloc.h) and the variables that set them at start
_MALLOPT = {"MALLOC_ARENA_MAX": -8, "MALLOC_MMAP_THRESHOLD_": -3}


def tune_malloc(
    arenas: int = MALLOC_ARENAS, mmap_threshold: int = MALLOC_MMAP_THRESHOLD
) -> dict[str, int]:
    """Tune glibc's malloc for a long-running process that swaps models, before threads start.

    - Arenas (``MALLOC_ARENA_MAX``): glibc gives a thread that meets a busy lock its own arena,
      up to eight per core, and memory freed in one arena serves only the threads on it. The
      agent compiles a model in one thread (start-up, or model sync on a hot swap), runs it from
      OpenVINO's threads and frees the replaced one from another; two arenas let what one frees
      serve the next.
    - The mmap threshold (``MALLOC_MMAP_THRESHOLD_``): glibc raises it after each big free (up to
      32 MB), after which a downloaded model, its parsed graph and weight buffers land in the heap
      and stay there, fragmented, once freed. Fixed at 1 MiB, a block that big gets a mapping of
      its own and goes back to the OS when freed; a 640x480 frame (0.9 MB) stays in the heap. A
      bigger frame (720p: 2.8 MB) is then mapped afresh each time, some page faults per frame;
      4 MiB measured the same peak (393 MB) where HD cameras make that matter.

    Measured with bench/edge_throughput.py (one camera, S3 store, model sync, two hot swaps):
    peak RSS 407-411 MB without the threshold, 391-392 MB with it. A variable set in the
    environment is the operator's choice and is left alone (glibc read it at start). Returns what
    was set here, by variable name (nothing where the C library is not glibc).
    """
    if platform.libc_ver()[0] != "glibc":
        return {}
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return {}
    wanted = {"MALLOC_ARENA_MAX": arenas, "MALLOC_MMAP_THRESHOLD_": mmap_threshold}
    done: dict[str, int] = {}
    for name, value in wanted.items():
        if name not in os.environ and mallopt(_MALLOPT[name], value) == 1:
            done[name] = value
    return done


def keep_pandas_out() -> None:
    """Keep pandas out of the agent process where it is installed (a platform venv; the edge
    extra does not install it). pyarrow, which encodes telemetry, imports pandas the first time it
    builds an array, only to check whether it was handed a DataFrame: some 50 MB of resident
    memory for a library the agent never calls. An import finder answers that pandas is not
    installed (marking it None in ``sys.modules`` is not enough: pyarrow's compiled import then
    gets None back), so pyarrow runs its pandas-free path, as on a camera box."""
    if "pandas" not in sys.modules and not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())


class _NoPandas:
    """An import finder that says pandas is not installed (``import pandas`` -> ImportError)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas is kept out of the edge agent", name=name)
        return None


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
    # Before any thread starts and before pyarrow first runs (the agent's import below).
    tune_malloc()
    keep_pandas_out()
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
