"""One explainer registry for ``abnrl watch`` and ``abnrl analyze``: every explainer that
explains a policy goes through both on a tiny agent, by its name and by its alias."""

import json
import re
from pathlib import Path

import pytest

from abnrl.analysis.sources import ATTENTION, SOURCE_NAMES, head_source
from abnrl.media.explainers import HEADS, NONE, POLICY_EXPLAINERS, POLICY_MAPS, PolicyExplainer
from abnrl.training.checkpoints import load_checkpoint
from agents.policy_view import policy_network
from tests.abnrl.cli import abnrl
from vision.explain import EXPLAINERS, get_explainer, list_explainers

WATCH = ["--max-frames", 8, "--fps", 30, "--device", "cpu"]
ANALYZE = ["--episodes", 1, "--max-steps-per-game", 20, "--every", 10, "--no-curves"]


def test_the_commands_names_are_the_registrys():
    assert POLICY_MAPS == tuple(n for n in list_explainers() if n != "cam")
    assert POLICY_EXPLAINERS == (*POLICY_MAPS, HEADS, NONE)
    assert {n: SOURCE_NAMES[n] for n in POLICY_MAPS} == {
        n: EXPLAINERS[n].title for n in POLICY_MAPS
    }
    assert ATTENTION == get_explainer("abn").title == "attention"


@pytest.mark.parametrize("name", [*POLICY_MAPS, "abn", HEADS])
def test_every_policy_explainer_is_watched(trained_run, tmp_path, name):
    out = tmp_path / "clip.mp4"
    abnrl("watch", trained_run, "--explainer", name, "--out", out, *WATCH)
    assert out.stat().st_size > 0


@pytest.mark.parametrize("name", ["attention", "abn"])
def test_the_own_maps_of_an_agent_without_attention_are_refused(cnn_run, tmp_path, name):
    out = tmp_path / "clip.mp4"
    result = abnrl("watch", cnn_run, "--explainer", name, "--out", out, check=False)
    assert result.returncode == 2 and "needs an agent with attention" in result.stderr
    assert "--explainer gradcam, guided-gradcam," in result.stderr and not out.exists()
    result = abnrl("analyze", cnn_run, "--maps", name, "--out", tmp_path / "a", check=False)
    assert result.returncode == 2 and "no attention maps of its own" in result.stderr


def test_the_alias_draws_the_agents_map_under_its_name(trained_run):
    model, _ = load_checkpoint(trained_run / "checkpoints" / "latest.zip", device="cpu")
    network = policy_network(model.policy).eval()
    explainer = PolicyExplainer.create("abn", network)
    assert explainer.name == "attention" and explainer.registration is not None
    assert explainer.title.startswith("attention")
    explainer.close()


def test_every_policy_explainer_is_analysed_under_its_title(trained_run, tmp_path):
    out = tmp_path / "analysis"
    names = ["abn", *(n for n in POLICY_MAPS if n != "attention")]
    abnrl("analyze", trained_run, "--maps", *names, "--out", out, *ANALYZE)
    results = json.loads((out / "attention-analysis.json").read_text())
    heads = json.loads((trained_run / "config.json").read_text())["attention_heads"]
    per_head = [head_source(k) for k in range(heads)] if heads > 1 else []
    sources = list(results["metrics"])
    assert sources[: 1 + len(per_head)] == [ATTENTION, *per_head]  # the defaults' order first
    assert sorted(sources) == sorted([*per_head, *(EXPLAINERS[n].title for n in POLICY_MAPS)])
    assert set(results["registrations"]) == set(results["metrics"])
    for source, metrics in results["metrics"].items():
        assert metrics["ball_pointing"]["frames"] >= 0, source


def test_abnrl_builds_no_explainer_of_its_own():
    """Defaults (SmoothGrad's samples, ...) live in the registry alone."""
    root = Path(__file__).resolve().parents[2] / "abnrl"
    built = re.compile(
        r"\b(GradCAM|GuidedGradCAM|CAM|InputGradient|SmoothGrad|GuidedBackprop|"
        r"PerturbationSaliency)\("
    )
    found = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in root.rglob("*.py")
        for match in built.finditer(path.read_text())
    ]
    assert not found
