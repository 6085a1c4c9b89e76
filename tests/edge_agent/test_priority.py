"""The shadow's lower CPU priority: a thread's nice value, and the threads it starts inheriting it.

Linux only (elsewhere the nice value belongs to the process and nothing is changed). Every check
reads the nice values back from the kernel, so none depends on timing or on the scheduler.
"""

from __future__ import annotations

import sys
import threading

import pytest

from edge_agent.priority import LOWEST, lower_this_thread, run_at_nice, thread_nice

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's"),
    pytest.mark.skipif(
        sys.platform.startswith("linux") and thread_nice() >= LOWEST,
        reason="the tests run at the lowest priority already: nothing can be lowered",
    ),
]


def _in_thread(fn):
    out: list = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    return out[0]


def test_lowering_one_thread_leaves_the_others_alone():
    before = thread_nice()
    assert _in_thread(lambda: (lower_this_thread(12), thread_nice())) == (max(before, 12), max(before, 12))
    assert thread_nice() == before


def test_a_thread_never_raises_its_own_priority():
    def body():
        lower_this_thread(15)
        return lower_this_thread(5), thread_nice()

    expected = max(thread_nice(), 15)  # pytest itself may run at a nice value already
    assert _in_thread(body) == (expected, expected)
    assert _in_thread(lambda: lower_this_thread(99)) == LOWEST


def test_threads_started_at_a_lower_priority_inherit_it():
    def start_child():
        seen: list[int | None] = []
        child = threading.Thread(target=lambda: seen.append(thread_nice()))
        child.start()
        child.join()
        return seen[0]

    before = thread_nice()
    assert run_at_nice(17, start_child) == max(before, 17)
    assert thread_nice() == before  # the caller's own priority is untouched


def test_run_at_nice_hands_back_the_error():
    def fail():
        raise ValueError("broken model")

    with pytest.raises(ValueError, match="broken model"):
        run_at_nice(10, fail)


_SHADOW_BESIDE_CHAMPION = """
import json, os, sys
from pathlib import Path

import numpy as np
from edge_agent.detector import DetectorConfig, load_detector
from edge_agent.priority import LOWEST, run_at_nice

def threads():
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        out[int(task.name)] = int(stat[stat.rindex(")") + 2 :].split()[16])
    return out

path, sizes = Path(sys.argv[1]), frozenset({(48, 64)})
# the camera's model first, as the agent loads it (2 threads, 2 streams), then the shadow's
champion = load_detector(path, model_version="v1", cfg=DetectorConfig(runtime="openvino", threads=2))
champion.warmup(1, sizes)
before = set(threads())

def load():
    shadow = load_detector(
        path,
        model_version="v2",
        cfg=DetectorConfig(runtime="openvino", threads=1, streams=1),
        frame_sizes=sizes,
    )
    shadow.warmup(1, sizes)
    return shadow

shadow = run_at_nice(LOWEST, load)
started = {tid: nice for tid, nice in threads().items() if tid not in before}
found = shadow.detect(np.zeros((48, 64, 3), np.uint8)).detections  # from this normal-priority thread
after = {tid: nice for tid, nice in threads().items() if tid not in before}
own = os.getpriority(os.PRIO_PROCESS, 0)
print(json.dumps({"started": started, "after": after, "found": len(found), "own": own}))
"""


def test_a_shadow_model_loaded_at_a_lower_priority_runs_on_threads_of_that_priority(make_yolo_onnx):
    """OpenVINO starts a compiled model's inference threads while it compiles and first runs it:
    a shadow model (one stream, one thread) loaded from a low-priority thread beside the camera's
    model (two streams) gets threads of that priority, which run its later passes whoever submits
    them. A fresh process: which executors OpenVINO already holds depends on what ran before."""
    import json
    import subprocess

    path = make_yolo_onnx([((16.0, 16.0, 48.0, 48.0), (0.9, 0.05, 0.05))], name="m.onnx", dynamic=True)
    run = subprocess.run(
        [sys.executable, "-c", _SHADOW_BESIDE_CHAMPION, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["started"], "loading the shadow model started no thread"
    assert set(seen["started"].values()) == {LOWEST}
    # the pass ran and started no thread; the runtime's threads live on (the loading thread may
    # have ended meanwhile)
    assert seen["found"] == 1 and seen["after"] and seen["after"].items() <= seen["started"].items()
    assert seen["own"] == thread_nice()  # the process itself keeps its priority (this one's)
