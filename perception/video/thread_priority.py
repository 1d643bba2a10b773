"""Lower the CPU priority of the calling thread, so that the engine's threads win the CPU.

On Linux every thread has its own nice value: ``setpriority(PRIO_PROCESS, tid, n)`` with the
thread's kernel id changes that thread alone, and threads it starts inherit it. A thread with a
higher nice value still runs whenever a core would otherwise idle, but loses contested time to
threads of lower nice value (the kernel's weight for nice 0 is about 70 times that of nice 19).
Raising a nice value needs no privilege; lowering it again does, so a thread's priority is
lowered once, by the thread itself, for the rest of its life.

Elsewhere (macOS, Windows) this does nothing: there ``setpriority`` takes process ids, and a
thread id could name another process.
"""

from __future__ import annotations

import os
import sys
import threading

MAX_NICE = 19
"""The highest (least favoured) nice value Linux allows."""


def lower_this_thread(niceness: int) -> int | None:
    """Add ``niceness`` (>= 0, capped at :data:`MAX_NICE`) to the calling thread's nice value.

    Returns the thread's new nice value, or ``None`` where threads have no nice value of their
    own (not Linux) or the kernel refused (the thread then keeps its priority)."""
    if niceness < 0:
        raise ValueError(f"niceness must be >= 0 (lowering priority only), got {niceness}")
    if sys.platform != "linux":
        return None
    thread_id = threading.get_native_id()
    try:
        nice = min(MAX_NICE, os.getpriority(os.PRIO_PROCESS, thread_id) + niceness)
        os.setpriority(os.PRIO_PROCESS, thread_id, nice)
    except OSError:
        return None
    return nice
