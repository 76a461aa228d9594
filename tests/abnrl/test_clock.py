"""ActiveClock: training time without the time the process spent stopped."""

import signal
import subprocess
import sys
import time

from abnrl.training.clock import ActiveClock


def test_a_gap_longer_than_a_stall_is_left_out_but_for_one_tick():
    times = iter([0.0, 1.0, 2.0, 3.0, 33.0, 34.0, 34.5])  # the first: the clock's start
    clock = ActiveClock(now=lambda: next(times), tick_s=1.0, stall_s=10.0)
    clock.tick(), clock.tick()
    assert clock.elapsed() == 3.0 and clock.stopped_s == 0.0  # 1-s gaps: running
    assert clock.elapsed() == 4.0 and clock.stopped_s == 29.0  # 30 s, all but a tick stopped
    clock.tick()
    assert clock.elapsed() == 34.5 - 29.0


def test_gaps_up_to_the_stall_limit_count_as_running():
    times = iter([0.0, 9.0, 19.0, 29.5])
    clock = ActiveClock(now=lambda: next(times), tick_s=1.0, stall_s=10.0)
    clock.tick(), clock.tick()  # gaps of 9 s and 10 s: running
    assert clock.elapsed() == 29.5 - 9.5  # the 10.5-s gap stalls, all but its tick


CHILD = """
import sys, time
from abnrl.training.clock import ActiveClock
clock = ActiveClock(tick_s=0.05, stall_s=0.5).start()
started = time.monotonic()
print("ready", flush=True)
sys.stdin.readline()
print(time.monotonic() - started, clock.elapsed(), clock.stopped_s, flush=True)
"""


def test_a_process_stopped_with_sigstop_does_not_count_the_stop():
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGSTOP)
        time.sleep(2.0)
        child.send_signal(signal.SIGCONT)
        child.stdin.write("report\n")
        child.stdin.flush()
        wall, elapsed, stopped = map(float, child.stdout.readline().split())
    finally:
        child.kill()
        child.wait()
    # The stop lasted 2 s or more; all of it but one 0.05-s tick is left out.
    assert stopped >= 2.0 - 0.05
    assert elapsed <= wall - stopped + 0.05
