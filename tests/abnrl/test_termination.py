"""SIGTERM as an exception: held over imports, and sent again where Python ignores it."""

import signal
import time

import pytest

from abnrl.termination import Terminated, held, sigterm_raises


def test_sigterm_raises_and_the_previous_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), sigterm_raises():
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_sigterm_while_held_is_raised_when_the_hold_ends():
    finished = []
    with pytest.raises(Terminated), sigterm_raises():
        with held():
            signal.raise_signal(signal.SIGTERM)
            finished.append("the rest of the block")
        finished.append("after the block")
    assert finished == ["the rest of the block"]


def test_a_sigterm_in_nested_holds_is_raised_when_the_outermost_ends():
    finished = []
    with pytest.raises(Terminated), sigterm_raises():
        with held():
            with held():
                signal.raise_signal(signal.SIGTERM)
            finished.append("the rest of the outer block")
        finished.append("after the blocks")
    assert finished == ["the rest of the outer block"]


def test_a_sigterm_held_in_a_block_that_fails_gives_way_to_the_error():
    with pytest.raises(ValueError), sigterm_raises():
        with held():
            signal.raise_signal(signal.SIGTERM)
            raise ValueError("the block's own error")
    with sigterm_raises(), held():
        pass  # nothing left over from the first block


class RaisesWhenDeleted:
    """As if SIGTERM's handler ran inside a ``__del__``, where Python ignores exceptions."""

    def __del__(self):
        raise Terminated


def test_a_sigterm_that_python_ignored_is_sent_again():
    with pytest.raises(Terminated), sigterm_raises():
        RaisesWhenDeleted()  # deleted at once; Python reports the exception as unraisable
        time.sleep(5)  # the signal, sent again, raises here
