"""The training monitor's schedule and stop rules, driven as SB3's on-policy ``learn`` drives
a callback (no emulator, no network)."""

import signal
from collections import deque

import pytest
from stable_baselines3.common.logger import Logger

from abnrl.training.clock import ActiveClock
from abnrl.training.monitor import TrainingMonitor, logged_time_s, next_multiple


def test_checkpoints_and_evaluations_fall_on_multiples_across_resumes():
    # A run resumed at 2,134,816 steps evaluates at 3M, as if it had never stopped.
    assert next_multiple(2_134_816, 1_000_000) == 3_000_000
    assert next_multiple(0, 250_000) == 250_000
    assert next_multiple(250_000, 250_000) == 500_000  # just done: the next one
    assert next_multiple(263_000, 4096) == 266_240


def test_training_time_adds_the_segments_of_logs_that_restarted_it_at_each_resume(tmp_path):
    log = tmp_path / "progress.csv"
    assert logged_time_s(log, 160) == 0.0
    # 30 s, then a resume that restarted the clock (20 s more), then one that counted on.
    log.write_text("step,time_s\n32,10.0\n64,30.0\n96,5.0\n128,20.0\n160,26.5\n")
    assert logged_time_s(log, 160) == 56.5
    assert logged_time_s(log, 128) == 50.0  # rows past a resumed checkpoint do not count


class Score:
    """An evaluation result with a fixed mean."""

    def __init__(self, mean):
        self.mean = mean

    def summary(self):
        return {"episodes": 1, "mean": self.mean, "std": 0.0, "median": self.mean,
                "min": self.mean, "max": self.mean, "length_mean": 1.0}  # fmt: skip


class Learner:
    """The calls SB3's OnPolicyAlgorithm.learn makes: per rollout, ``on_rollout_start``,
    ``on_step`` after each vector step (``n_envs`` agent steps), ``on_rollout_end`` and the
    update; a callback that returns False ends the rollout and learn()."""

    def __init__(self, n_envs=2, n_steps=4, num_timesteps=0, during_step=None):
        self.n_envs, self.n_steps = n_envs, n_steps
        self.num_timesteps = num_timesteps
        self.logger = Logger(folder=None, output_formats=[])
        self.ep_info_buffer = deque([{"r": 3.0, "l": 100}])
        self.updates = 0
        self.during_step = during_step or (lambda learner: None)

    def get_env(self):
        return None

    def learn(self, total, monitor):
        monitor.init_callback(self)
        monitor.on_training_start(locals(), globals())
        while self.num_timesteps < total and self._rollout(monitor):
            self.updates += 1
        monitor.on_training_end()

    def _rollout(self, monitor):
        monitor.on_rollout_start()
        for _ in range(self.n_steps):
            self.num_timesteps += self.n_envs
            self.during_step(self)
            if not monitor.on_step():
                return False
        monitor.on_rollout_end()
        return True


@pytest.fixture
def events():
    return []


@pytest.fixture
def make_monitor(tmp_path, events):
    def make(**options):
        scores = iter(options.pop("scores", [1.0, 5.0, 2.0, 7.0, 3.0, 3.0, 3.0, 3.0]))

        def evaluate():
            events.append(("eval", learner_steps()))
            return Score(next(scores))

        monitor = TrainingMonitor(
            total_steps=options.pop("total_steps", 64),
            progress_csv=tmp_path / "progress.csv",
            evaluations_csv=tmp_path / "evaluations.csv",
            checkpoint=lambda kind: events.append((kind, learner_steps())),
            evaluate=evaluate,
            show_progress=False,
            **{"checkpoint_every": 16, "eval_every": 24, **options},
        )

        def learner_steps():
            return monitor.model.num_timesteps

        return monitor

    return make


def test_checkpoints_and_evaluations_happen_at_rollout_start_after_their_multiples(
    make_monitor, events
):
    learner = Learner()  # rollouts of 8 agent steps
    learner.learn(48, make_monitor(total_steps=48))
    assert learner.num_timesteps == 48 and learner.updates == 6
    latest = [step for kind, step in events if kind == "latest"]
    evaluations = [step for kind, step in events if kind == "eval"]
    assert latest == [16, 32] and evaluations == [24, 48]  # 48: the natural end's evaluation
    best = [step for kind, step in events if kind == "best"]
    assert best == [24, 48]  # scores 1, then 5: each a new best


def test_stop_at_ends_at_the_first_rollout_start_past_it(make_monitor):
    learner = Learner()
    monitor = make_monitor(stop_at=20)
    learner.learn(64, monitor)
    assert monitor.stop_requested == "step limit"
    assert learner.num_timesteps == 24 and learner.updates == 3  # every counted step trained


def test_a_time_limit_stops_before_the_next_rollout(make_monitor, monkeypatch):
    times = iter(range(0, 10_000, 50))  # 50 s pass between the monitor's looks at the clock
    clock = ActiveClock(now=lambda: next(times), tick_s=3600, stall_s=float("inf"))
    monkeypatch.setattr("abnrl.training.monitor.ActiveClock", lambda: clock)
    learner = Learner()
    monitor = make_monitor(time_limit_s=120)
    learner.learn(64, monitor)
    assert monitor.stop_requested == "time limit"
    assert 0 < learner.num_timesteps < 64 and learner.num_timesteps % 8 == 0


def test_sigterm_mid_rollout_drops_that_rollout(make_monitor):
    def sigterm_at_20(learner):
        if learner.num_timesteps == 20:
            monitor._request_stop(signal.SIGTERM, None)

    learner = Learner(during_step=sigterm_at_20)
    monitor = make_monitor()
    learner.learn(64, monitor)
    assert monitor.stop_requested == "SIGTERM"
    # The rollout that began at 16 is dropped with the step that noticed the signal.
    assert learner.num_timesteps == 16 and learner.updates == 2


def test_a_second_ctrl_c_quits_at_once(make_monitor):
    def two_interrupts(learner):
        if learner.num_timesteps == 10:
            monitor._request_stop(signal.SIGINT, None)
            monitor._request_stop(signal.SIGINT, None)

    monitor = make_monitor()
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(KeyboardInterrupt):
            Learner(during_step=two_interrupts).learn(64, monitor)
    finally:  # learn() ended by the exception: the monitor could not give them back
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def test_the_signal_handlers_are_given_back(make_monitor):
    before = signal.getsignal(signal.SIGTERM)
    Learner().learn(16, make_monitor(total_steps=16))
    assert signal.getsignal(signal.SIGTERM) is before
