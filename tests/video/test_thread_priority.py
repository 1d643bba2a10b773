"""Lowering one thread's CPU priority: the calling thread alone, capped at nice 19."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from perception.video.thread_priority import MAX_NICE, lower_this_thread


def nice_after_lowering(niceness: int) -> tuple[int | None, int]:
    """``lower_this_thread(niceness)``'s result in a new thread, and that thread's nice value
    read back from the kernel afterwards."""
    results: list[tuple[int | None, int]] = []

    def lower() -> None:
        returned = lower_this_thread(niceness)
        results.append((returned, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))

    thread = threading.Thread(target=lower)
    thread.start()
    thread.join()
    return results[0]


@pytest.mark.skipif(sys.platform != "linux", reason="threads have their own nice value on Linux")
def test_only_the_calling_thread_is_lowered_and_the_cap_is_19() -> None:
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert nice_after_lowering(3) == (min(MAX_NICE, own + 3), min(MAX_NICE, own + 3))
    assert nice_after_lowering(100) == (MAX_NICE, MAX_NICE)
    assert nice_after_lowering(0) == (own, own)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own


def test_raising_priority_is_refused() -> None:
    with pytest.raises(ValueError, match="lowering priority only"):
        lower_this_thread(-1)
