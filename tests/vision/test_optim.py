"""Optimizers and schedules by name."""

from __future__ import annotations

import pytest
import torch

from vision.optim import OPTIMIZERS, build_optimizer, build_schedule, step_schedule


def _parameters():
    return [torch.nn.Parameter(torch.ones(3))]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sgd", torch.optim.SGD),
        ("adagrad", torch.optim.Adagrad),
        ("adadelta", torch.optim.Adadelta),
        ("rmsprop", torch.optim.RMSprop),
        ("adam", torch.optim.Adam),
    ],
)
def test_every_optimizer_by_name_takes_a_step(name, kind):
    parameters = _parameters()
    optimizer = build_optimizer(name, parameters, lr=0.1, weight_decay=1e-4)
    assert isinstance(optimizer, kind)
    assert optimizer.param_groups[0]["lr"] == 0.1
    assert optimizer.param_groups[0]["weight_decay"] == 1e-4
    parameters[0].sum().backward()
    optimizer.step()
    assert torch.all(parameters[0] < 1)
    assert name in OPTIMIZERS


def test_sgd_momentum_and_nesterov():
    optimizer = build_optimizer("sgd", _parameters(), lr=0.1, momentum=0.9, nesterov=True)
    assert optimizer.param_groups[0]["momentum"] == 0.9
    assert optimizer.param_groups[0]["nesterov"] is True
    with pytest.raises(ValueError, match="Nesterov momentum needs the sgd optimizer"):
        build_optimizer("adam", _parameters(), lr=0.1, nesterov=True)


def test_unknown_names_are_one_sentence_errors():
    with pytest.raises(ValueError, match="Unknown optimizer 'lbfgs'"):
        build_optimizer("lbfgs", _parameters(), lr=0.1)
    with pytest.raises(ValueError, match="Unknown schedule 'linear'"):
        build_schedule("linear", build_optimizer("sgd", _parameters(), lr=0.1), epochs=10)


def _rates(schedule_name, epochs=8, errors=None, **kwargs):
    optimizer = build_optimizer("sgd", _parameters(), lr=0.1)
    schedule = build_schedule(schedule_name, optimizer, epochs=epochs, **kwargs)
    rates = []
    for epoch in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        step_schedule(schedule, errors[epoch] if errors else 0.0)
    return rates


def test_step_schedule_drops_at_half_and_three_quarters():
    rates = _rates("step", epochs=8)
    assert rates == pytest.approx([0.1] * 4 + [0.01] * 2 + [0.001] * 2)


def test_cosine_schedule_decays_to_zero():
    rates = _rates("cosine", epochs=8)
    assert rates[0] == pytest.approx(0.1) and rates[4] == pytest.approx(0.05)
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False)) and rates[-1] < 0.01


def test_plateau_schedule_drops_when_the_error_stalls():
    rates = _rates("plateau", epochs=6, errors=[0.5, 0.4, 0.4, 0.4, 0.4, 0.4], patience=2)
    assert rates == pytest.approx([0.1] * 5 + [0.01])


def test_constant_schedule_and_state_round_trip():
    assert _rates("constant", epochs=3) == pytest.approx([0.1] * 3)
    optimizer = build_optimizer("sgd", _parameters(), lr=0.1)
    schedule = build_schedule("step", optimizer, epochs=4)
    restored = build_schedule("step", optimizer, epochs=4)
    restored.load_state_dict(schedule.state_dict())
    assert restored.milestones == schedule.milestones
