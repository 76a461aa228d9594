"""SIGTERM as an exception, so that a stopped command unwinds and cleans up as on Ctrl-C.

Python runs a signal handler between two bytecodes of the main thread, wherever that is.
An exception raised there can be lost: Python ignores it inside a weakref callback or a
``__del__`` (importlib's module locks have such callbacks), and it can abort the process
inside C++ code that calls back into Python (torch's imports do). And raised between a
lock's acquisition and the ``with`` that releases it (``threading.Condition.__enter__``,
which queues and events use), it leaves the lock held for good. So SIGTERM is held while
the commands' libraries are imported and while a thread is handed work, and one that
Python ignored is sent again.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import cast


class Terminated(BaseException):
    """SIGTERM arrived: unwinding runs every clean-up (temporary files are removed).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way
    (an optional import, a library's fallback) swallows it."""


class _Hold:
    held = False
    pending = False


_hold = _Hold()


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Inside the block, SIGTERM raises ``Terminated`` (after the end of a ``held()``)."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = partial(_deliver_again_if_terminated, previous_hook)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook


@contextmanager
def held() -> Iterator[None]:
    """A SIGTERM that arrives inside the block raises ``Terminated`` when the block ends
    (the outermost one, when they nest), unless an exception is already leaving it."""
    outermost, pending = not _hold.held, False
    _hold.held = True
    try:
        yield
    finally:
        if outermost:
            _hold.held, pending, _hold.pending = False, _hold.pending, False
    if pending:
        raise Terminated


def _on_sigterm(signum: int, frame: object) -> None:
    if _hold.held:
        _hold.pending = True
        return
    raise Terminated


def _deliver_again_if_terminated(
    otherwise: Callable[[sys.UnraisableHookArgs], object], unraisable: sys.UnraisableHookArgs
) -> None:
    """An ignored ``Terminated`` is sent again, to be raised at the next statement."""
    if unraisable.exc_type is Terminated:
        # From another thread, a moment later: sent from here, the signal's handler would
        # run inside this hook, where its exception would be ignored again.
        main_thread = cast(int, threading.main_thread().ident)  # started, so it has one
        threading.Timer(0.01, signal.pthread_kill, (main_thread, signal.SIGTERM)).start()
    else:
        otherwise(unraisable)
