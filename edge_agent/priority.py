"""A lower CPU priority for work that must never slow the cameras down (the shadow model).

On Linux a thread has a nice value of its own, and a thread it starts inherits it: a runtime's
inference threads, started while a model compiles or first runs, take the priority of the thread
that compiled or ran it. So the shadow model is loaded (``run_at_nice``) and run (``lower_this_thread``)
from threads at a high nice value, and on a box the cameras keep busy the scheduler gives its
work only the CPU they leave; its frames then wait in the shadow queue, and the ones that do not
fit are dropped and counted, as the shadow's design asks. Elsewhere (macOS, Windows: the nice value
belongs to the process) nothing is changed.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: The highest nice value Linux offers: the thread runs when nothing else wants the core.
LOWEST = 19


def thread_nice(native_id: int | None = None) -> int | None:
    """The nice value of a thread of this process (default: the calling one); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    return os.getpriority(os.PRIO_PROCESS, native_id or threading.get_native_id())


def lower_this_thread(nice: int) -> int | None:
    """Raise the calling thread's nice value to ``nice`` (never lower it: a thread may not raise its
    own priority without privileges); returns the value it runs at now, None off Linux."""
    current = thread_nice()
    if current is None:
        return None
    target = max(current, min(nice, LOWEST))
    if target != current:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), target)
    return target


def run_at_nice(nice: int, fn: Callable[[], T], *, name: str = "low-priority") -> T:
    """``fn()`` run on a short-lived thread at nice value ``nice``, so the threads it starts inherit
    that priority (the caller's own priority is untouched); its result, or its exception."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def body() -> None:
        lower_this_thread(nice)
        try:
            outcome.append(fn())
        except BaseException as err:  # handed to the caller as is
            failure.append(err)

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
