"""``abnrl compare``: rliable's figures on made-up runs, cross-checked against rliable."""

import json
import sys

import numpy as np
import pytest

from abnrl.analysis.comparison import compare, find_runs, group_runs
from abnrl.errors import UserError
from tests.abnrl.cli import abnrl

rliable = pytest.importorskip("rliable", reason="the compare extra: pip install -e '.[compare]'")
from rliable import library as rly  # noqa: E402
from rliable import metrics  # noqa: E402
from scipy.stats import t as scipy_t  # noqa: E402

STEPS = [50_000, 100_000, 150_000]
RANDOM, HUMAN = 1.7, 30.5  # Breakout's references


def made_up_runs(root, policy, finals, config=None):
    """Run dirs of one group: each seed's evaluations ramp up to its final score."""
    for seed, final in enumerate(finals):
        run = root / f"{policy}-{seed}"
        run.mkdir(parents=True)
        fields = {"game": "breakout", "policy": policy, "seed": seed, "attention": "softmax"}
        (run / "config.json").write_text(json.dumps({**fields, **(config or {})}))
        rows = [f"{step},{final * (i + 1) / len(STEPS)}" for i, step in enumerate(STEPS)]
        (run / "evaluations.csv").write_text("step,mean\n" + "\n".join(rows) + "\n")


ABN = [40.0, 55.0, 12.0, 80.0, 61.0]
CNN = [20.0, 35.0, 30.0, 9.0, 25.0]


@pytest.fixture
def runs(tmp_path):
    made_up_runs(tmp_path, "abn", ABN)
    made_up_runs(tmp_path, "cnn", CNN, {"attention": "mask"})  # not a difference for cnn
    return tmp_path


def direct(scores, func, reps=2_000):
    """rliable called as its documentation shows, its global generator seeded."""
    np.random.seed(0)
    return rly.get_interval_estimates(scores, func, reps=reps)


def test_aggregates_and_improvement_are_rliables(runs):
    groups = group_runs(find_runs([runs]))
    assert {name: len(g) for name, g in groups.items()} == {"policy=abn": 5, "policy=cnn": 5}
    result = compare(groups, reps=2_000)
    normalized = {
        name: ((np.array(finals) - RANDOM) / (HUMAN - RANDOM))[:, None]
        for name, finals in (("policy=abn", ABN), ("policy=cnn", CNN))
    }
    for name, array in normalized.items():
        for key, func in [("iqm", metrics.aggregate_iqm), ("mean", metrics.aggregate_mean),
                          ("optimality_gap", metrics.aggregate_optimality_gap)]:  # fmt: skip
            points, intervals = direct({name: array}, lambda a, f=func: np.array([f(a)]))
            expected = (points[name][0], *intervals[name][:, 0])
            assert result.aggregates[name][key] == pytest.approx(expected)
    points, intervals = direct(
        {"p": (normalized["policy=abn"], normalized["policy=cnn"])},
        metrics.probability_of_improvement,
    )
    expected = (float(points["p"]), *intervals["p"].ravel())
    assert result.improvement[("policy=abn", "policy=cnn")] == pytest.approx(expected)
    # By hand: ABN wins 21 of the 25 pairs of runs (12 beats only 9), none tied.
    assert result.improvement[("policy=abn", "policy=cnn")][0] == pytest.approx(21 / 25)
    # IQM of 5 runs: the middle 3, a quarter of a run trimmed at each end (rliable's rule).
    assert result.aggregates["policy=cnn"]["iqm"][0] == pytest.approx(
        (np.mean([20.0, 25.0, 30.0]) - RANDOM) / (HUMAN - RANDOM), abs=0.02
    )


def test_learning_curves_are_iqm_over_seeds_at_each_step(runs):
    result = compare(group_runs(find_runs([runs])), reps=500)
    curve = result.curves["policy=abn"]
    assert curve["steps"] == STEPS
    finals = (np.array(ABN) - RANDOM) / (HUMAN - RANDOM)
    assert curve["iqm"][-1] == pytest.approx(metrics.aggregate_iqm(finals[:, None]))
    assert all(lo <= point <= hi for lo, point, hi in zip(curve["low"], curve["iqm"],
               curve["high"], strict=True))  # fmt: skip


def test_compare_command_prints_and_writes(runs, tmp_path):
    out = tmp_path / "figures"
    result = abnrl("compare", runs, "--out", out, "--reps", 500)
    assert "| policy=abn | 5 | 49.6 |" in result.stdout
    assert "P(X > Y)" in result.stdout
    saved = json.loads((out / "compare.json").read_text())
    assert saved["scores"] == "human-normalized" and saved["references"] == [RANDOM, HUMAN]
    for png in ("aggregates.png", "curves.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_json_is_the_score_when_present(runs):
    eval_json = runs / "abn-0" / "checkpoints" / "eval.json"
    eval_json.parent.mkdir()
    eval_json.write_text(json.dumps({"summary": {"mean": 123.0}}))
    [run] = [r for r in find_runs([runs]) if r.root.name == "abn-0"]
    assert (run.score, run.score_source) == (123.0, "abnrl eval")


def test_runs_without_evaluations_or_of_other_games_are_refused(tmp_path):
    made_up_runs(tmp_path / "a", "abn", [1.0])
    (tmp_path / "a" / "abn-0" / "evaluations.csv").unlink()
    with pytest.raises(UserError, match="has no evaluation"):
        find_runs([tmp_path / "a"])
    made_up_runs(tmp_path / "b", "abn", [1.0], {"game": "pong"})
    made_up_runs(tmp_path / "c", "cnn", [1.0])
    with pytest.raises(UserError, match="different games"):
        group_runs(find_runs([tmp_path / "b", tmp_path / "c"]))
    with pytest.raises(UserError, match="holds no run"):
        find_runs([tmp_path / "empty"])


def test_report_of_a_sweep_dir_compares_its_trials(tmp_path):
    made_up_runs(tmp_path / "trials", "abn", ABN)
    made_up_runs(tmp_path / "trials", "<b>cnn</b>", CNN)
    plan = {"format": "abnrl.sweep/1", "grid": {"policy": ["abn", "cnn"]}, "seeds": [0, 1]}
    (tmp_path / "sweep.json").write_text(json.dumps(plan))
    abnrl("report", tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "Probability of improvement" in page and "policy=abn" in page
    assert "<b>cnn</b>" not in page and "&lt;b&gt;cnn&lt;/b&gt;" in page
    assert page.count("data:image/png;base64,") == 2


def test_without_rliable_compare_says_how_to_get_it(monkeypatch, runs):
    monkeypatch.setitem(sys.modules, "rliable", None)
    with pytest.raises(UserError, match=r"pip install 'abnrl\[compare\]'"):
        compare(group_runs(find_runs([runs])), reps=100)


def evaluated_run(root, policy, games):
    """A run of one seed whose abnrl eval kept each game's score."""
    made_up_runs(root, policy, [float(np.mean(games))])
    eval_json = root / f"{policy}-0" / "checkpoints" / "eval.json"
    eval_json.parent.mkdir()
    eval_json.write_text(json.dumps({"scores": games, "summary": {"mean": np.mean(games)}}))


def test_single_runs_are_compared_game_by_game_with_welchs_interval(tmp_path):
    abn_games = [410.0, 380.0, 432.0, 300.0, 395.0, 420.0]
    cnn_games = [250.0, 310.0, 120.0, 290.0]
    evaluated_run(tmp_path, "abn", abn_games)
    evaluated_run(tmp_path, "cnn", cnn_games)
    [difference] = compare(group_runs(find_runs([tmp_path])), reps=200).differences
    # Welch's interval by hand: unequal variances, Welch-Satterthwaite degrees of freedom.
    a, b = np.array(abn_games), np.array(cnn_games)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = scipy_t.ppf(0.975, dof) * np.sqrt(va + vb)
    gap = a.mean() - b.mean()
    assert (difference.x, difference.y, difference.games) == ("policy=abn", "policy=cnn", (6, 4))
    assert difference.difference == pytest.approx((gap, gap - half, gap + half))
    assert difference.settled and difference.p_value < 0.05
    result = abnrl("compare", tmp_path, "--out", tmp_path / "out", "--reps", 200)
    assert "Welch's 95% CI" in result.stdout
    assert "| policy=abn | policy=cnn | 6 / 4 |" in result.stdout


def test_groups_of_one_run_get_no_run_level_intervals_or_improvement(tmp_path):
    evaluated_run(tmp_path, "abn", [410.0, 380.0, 432.0])
    evaluated_run(tmp_path, "cnn", [250.0, 310.0, 120.0])
    comparison = compare(group_runs(find_runs([tmp_path])), reps=200)
    assert comparison.improvement == {}
    point, low, high = comparison.aggregates["policy=abn"]["mean"]
    assert point == pytest.approx((np.mean([410.0, 380.0, 432.0]) - RANDOM) / (HUMAN - RANDOM))
    assert low is None and high is None
    assert set(comparison.curves["policy=cnn"]) == {"steps", "iqm"}  # no band
    result = abnrl("compare", tmp_path, "--out", tmp_path / "out", "--reps", 200)
    assert "Probability of improvement" not in result.stdout
    abn_row = next(
        line for line in result.stdout.splitlines() if line.startswith("| policy=abn | 1 |")
    )
    assert "[" not in abn_row  # a point estimate, no interval
    saved = json.loads((tmp_path / "out" / "compare.json").read_text())
    mean = saved["groups"]["policy=abn"]["aggregates"]["mean"]
    assert mean["low"] is None and mean["high"] is None and mean["point"] > 0
    assert saved["probability_of_improvement"] == []
    for png in ("aggregates.png", "curves.png"):
        assert (tmp_path / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_overlapping_games_are_not_settled_and_seeds_are_not_compared_by_game(tmp_path):
    evaluated_run(tmp_path / "a", "abn", [100.0, 300.0, 200.0])
    evaluated_run(tmp_path / "a", "cnn", [150.0, 250.0, 190.0])
    [difference] = compare(group_runs(find_runs([tmp_path / "a"])), reps=200).differences
    assert not difference.settled and difference.difference[1] < 0 < difference.difference[2]
    made_up_runs(tmp_path / "b", "abn", ABN)
    made_up_runs(tmp_path / "b", "cnn", CNN)
    assert compare(group_runs(find_runs([tmp_path / "b"])), reps=200).differences == []


@pytest.mark.parametrize(
    ("damage", "refusal"),
    [
        (lambda run: (run / "config.json").write_text("[1, 2]"), "names no game"),
        (lambda run: (run / "config.json").write_text('{"game": ["breakout"]}'), "names no game"),
        (
            lambda run: (run / "evaluations.csv").write_text("step,mean\n50000,NaN\n"),
            "not a finite number",
        ),
        (
            lambda run: (run / "evaluations.csv").write_text("step,mean\n50000,Infinity\n"),
            "not a finite number",
        ),
    ],
)
def test_malformed_run_files_are_refused_in_one_sentence(tmp_path, damage, refusal):
    made_up_runs(tmp_path, "abn", [1.0, 2.0])
    damage(tmp_path / "abn-0")
    result = abnrl("compare", tmp_path, "--out", tmp_path / "out", "--reps", 100, check=False)
    assert result.returncode == 2 and refusal in result.stderr
    assert not (tmp_path / "out").exists()


def test_config_values_that_look_like_math_text_are_drawn_as_text(tmp_path):
    made_up_runs(tmp_path, r"$\undefinedmacro$", [1.0, 2.0])  # the group policy=$...$
    made_up_runs(tmp_path, "cnn", [3.0, 4.0])
    result = abnrl("compare", tmp_path, "--out", tmp_path / "out", "--reps", 100)
    assert result.returncode == 0
    assert (tmp_path / "out" / "aggregates.png").read_bytes()[:4] == b"\x89PNG"
