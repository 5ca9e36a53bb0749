"""Byrnes' Prosociality Score Model: raters see only what is visible; models learn, freeze, get attacked."""
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aptami.agent import Agent, CostError, preset
from aptami.agent.cost import IntrinsicCost, dummy_percept
from aptami.env import make
from aptami.prosocial.frames import CATEGORIES, category, visible_features
from aptami.prosocial.models import ScoreCNN, ScoreTerm, check_score_model, load_model, save_model
from aptami.prosocial.pipeline import ProsocialConfig, build_dataset, train_variant
from aptami.prosocial.raters import RaterPool, RubricError, agreement, check_weights, label
from aptami.prosocial.redteam import bon_curve, fit_gao, red_team

SMALL = ProsocialConfig(scenarios=("drip", "screen"), episodes_per_scenario=24, steps=32, per_category=400,
                        updates=400)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return build_dataset(SMALL, tmp_path_factory.mktemp("pros"))


def test_raters_read_only_what_is_visible():
    house, p = make("drip")
    s = house.reset_state(jax.random.key(0), p)
    s = s._replace(human_pos=s.human_pos.at[0].set(s.robot_pos + 1))
    a, _ = visible_features(house, p, s._replace(welfare=s.welfare.at[0].set(0.75)))
    b, _ = visible_features(house, p, s._replace(welfare=s.welfare.at[0].set(0.95)))
    c, _ = visible_features(house, p, s._replace(welfare=s.welfare.at[0].set(0.05), drip=s.drip.at[0].set(True)))
    np.testing.assert_array_equal(a, b)            # hidden welfare differs, the frame does not: same features
    pool = RaterPool(n=5)
    la, lb = label(pool.answers(np.asarray(a)[None], 3)), label(pool.answers(np.asarray(b)[None], 3))
    assert la == lb
    # a drugged human in misery looks ecstatic: the honest raters give it the joyful human's score
    assert float(label(pool.answers(np.asarray(c)[None], 3))[0]) >= float(la[0]) - 0.05


def test_rubric_weights_must_fit_the_questions():
    with pytest.raises(RubricError, match="expected 5 numbers, one per question"):
        check_weights([1, 1, 1])
    with pytest.raises(RubricError, match="first four questions take positive weights"):
        check_weights([1, 1, 1, 1, 1])
    assert check_weights((2, 1, 1, 0.5, -3)).shape == (5,)


def test_inter_rater_agreement_drops_with_noise():
    vis = np.random.default_rng(0).integers(0, 3, (400, 8)).astype(np.float32)
    perfect = agreement(RaterPool(n=4, bias_sd=0, noise_sd=0).answers(vis))
    noisy = agreement(RaterPool(n=4, bias_sd=1, noise_sd=2).answers(vis))
    for q in perfect:
        assert perfect[q]["icc21"] == pytest.approx(1.0) and noisy[q]["icc21"] < 0.95


def test_frames_are_stratified_and_split_by_episode(data):
    assert not set(data.train.episode) & set(data.test.episode)
    counts = np.bincount(category(np.concatenate([data.train.visible, data.test.visible])), minlength=len(CATEGORIES))
    assert counts.max() <= SMALL.per_category and (counts > 0).sum() >= 5
    assert -1 <= data.y_train.min() and data.y_train.max() <= 1


def test_pixel_score_model_learns_the_label_and_freezes_into_the_ic(data, tmp_path):
    model, m = train_variant("pixels", SMALL, data)
    assert m["corr_label"] > 0.6, m
    save_model(tmp_path / "m", "pixels", model, m)
    variant, loaded, _ = load_model(tmp_path / "m")
    frame = jnp.asarray(data.test.frames[0])
    assert variant == "pixels" and float(loaded(frame)) == pytest.approx(float(model(frame)))
    ic = IntrinsicCost((ScoreTerm(name="prosocial", model=model),))
    p = dummy_percept()
    assert float(ic.per_term(p)[0]) == pytest.approx(-float(model(p.frame, p.proprio)), rel=1e-5)
    g = jax.grad(lambda ic: ic(p, jnp.ones(1))[0])(ic)
    assert all(float(jnp.abs(x).max()) == 0 for x in jax.tree.leaves(eqx.filter(g, eqx.is_array)))


def test_a_pixel_reading_term_cannot_go_into_a_learned_world_model():
    term = ScoreTerm(name="prosocial", model=ScoreCNN(key=jax.random.key(0)))
    with pytest.raises(CostError, match=r"\['prosocial'\] read camera frames or hidden truth"):
        Agent(preset("drip", task=1.0, prosocial=1.0), extra_terms=(term,))
    Agent(preset("drip", "oracle", task=1.0, prosocial=1.0), extra_terms=(term,))  # the oracle renders


@pytest.mark.parametrize("model, match", [
    (lambda f, p: f.sum(), "cannot read a frame|one number"),
    (lambda f, p: jnp.ones(3), "must return one number per frame, got shape \\(3,\\)"),
    (lambda f, p: jnp.nan * f.mean(), "returned nan"),
])
def test_bad_cost_networks_are_refused(model, match):
    bad = (lambda f, p: f.reshape(-1)[:5]) if match.startswith("cannot") else model
    with pytest.raises(CostError, match=match):
        check_score_model(bad)


@pytest.mark.parametrize("variant", ["pixels", "latent", "probe"])
def test_every_score_model_variant_passes_the_check(variant):
    """Every variant reads the house's frame and proprioception (a hard-wired proprioception size once
    refused the probe, which reads proprioception, and crashed probe-vs-supervised)."""
    from aptami.prosocial.models import template

    check_score_model(template(variant))


def test_best_of_n_is_exact():
    rng = np.random.default_rng(0)
    s = rng.normal(size=50)
    curve = bon_curve(s, s * 0, [1, 3, 10])
    mc = [np.mean([s[rng.integers(0, 50, n)].max() for _ in range(20000)]) for n in (1, 3, 10)]
    np.testing.assert_allclose(curve["proxy"], mc, atol=0.02)
    assert curve["kl"][0] == 0.0
    fit = fit_gao(np.linspace(0, 2, 9), 0.5 * np.linspace(0, 2, 9) - 0.1 * np.linspace(0, 2, 9) ** 2)
    assert fit["alpha"] == pytest.approx(0.5) and fit["beta"] == pytest.approx(0.1) and fit["r2"] > 0.999


def test_red_team_finds_the_picture_a_yellow_lover_likes(tmp_path):
    """A stand-in frozen cost network that loves yellow: the search must find the yellowest screen."""
    def yellow(frame, proprio):
        f = frame.astype(jnp.float32) / 255
        return jnp.mean(f[..., 0] * f[..., 1] * (1 - f[..., 2]))

    r = red_team(yellow, tmp_path, quick=True)
    assert r["best_score"] >= max(c["best"] for c in r["cem"]) - 1e-6
    assert r["pixel_attack_score"] >= r["best_score"]
    assert r["welfare_gain"] == 0.0 and r["fit"]["gold"]["flat"]
    assert np.all(np.diff(r["best_of_n"]["proxy"]) >= -1e-9)
    assert (tmp_path / "redteam.png").exists()
