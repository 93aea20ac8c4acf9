"""Configuration: recipes built from one base, the merge order, checks, config.toml and its
migration from older run folders, and no sentinel step count anywhere a user looks."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gankit.errors import GankitError
from gankit.runfolder import read_toml
from gankit.training import objectives
from gankit.training.config import FIELDS, FORMAT, TrainConfig, problems, toml_text, write_toml
from gankit.training.configure import resolve, saved_config
from gankit.training.hardware import resolve_hardware
from gankit.training.migrate import (
    FORMAT_1_IMPLIED,
    FORMAT_2_IMPLIED,
    FORMAT_3_IMPLIED,
    FORMAT_4_IMPLIED,
    migrate,
)
from gankit.training.recipes import BASE, GENERATOR_LOSSES, OBJECTIVES, RECIPES, get_recipe
from gankit.training.state import new_run
from gankit.training.step import critic_steps_at, train_step

TINY = {"width": 16, "depth": 1, "batch_size": 16, "precision": "fp32", "device": "cpu"}


def _run(recipe: str, **values):
    config = resolve(recipe, {**TINY, "data": "ring:modes=4", **values})
    return config, new_run(config, resolve_hardware("cpu", "fp32"))


# --- the recipes take effect as their papers say ---------------------------------------------


def test_wgan_trains_with_rmsprop_at_5e_5_and_keeps_the_critic_in_the_box():
    # Arjovsky et al. 2017, Alg. 1: RMSProp, alpha = 5e-5, c = 0.01, n_critic = 5, m = 64.
    config, run = _run("wgan", batch_size=64, lr_d=0.5)  # a huge step: clipping must act
    assert isinstance(run.opt_d, torch.optim.RMSprop) and isinstance(run.opt_g, torch.optim.RMSprop)
    default = resolve("wgan")
    assert (default.lr_d, default.lr_g, default.batch_size) == (5e-5, 5e-5, 64)
    steps = []
    run.opt_d.step = _counting(run.opt_d.step, steps)  # type: ignore[method-assign]
    train_step(run, _dataset(config), measure=False)
    assert len(steps) == 5  # critic steps per generator step
    assert max(p.abs().max().item() for p in run.critic.parameters()) <= 0.01


def test_wgan_gp_toy_recipe_is_the_published_toy_code():
    # gan_toy.py (Gulrajani et al. 2017): Adam 1e-4, betas (0.5, 0.9), 5 critic steps,
    # lambda 0.1 on 2-D data, batch 256, 3 x 512 ReLU MLPs, 2-d noise.
    config, run = _run("wgan-gp", width=512, depth=3, batch_size=256)
    group = run.opt_d.param_groups[0]
    assert isinstance(run.opt_d, torch.optim.Adam)
    assert (group["lr"], group["betas"]) == (1e-4, (0.5, 0.9))
    toy = resolve("wgan-gp")
    assert (toy.gp_weight, toy.n_critic, toy.batch_size, toy.latent_dim) == (0.1, 5, 256, 2)
    linears = [m for m in run.critic.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [512, 512, 512, 1]
    images = resolve("wgan-gp", flag_values={"data": "digits"})
    assert (images.gp_weight, images.batch_size, images.latent_dim) == (10.0, 64, 100)


def test_minimax_recipes_take_one_discriminator_step_and_dcgan_adam():
    # Goodfellow et al. 2014, Alg. 1 with k = 1; Adam 2e-4 and beta1 0.5 as DCGAN.
    for name in ("gan", "nsgan", "fgan", "lsgan"):
        config, run = _run(name)
        steps = []
        run.opt_d.step = _counting(run.opt_d.step, steps)  # type: ignore[method-assign]
        train_step(run, _dataset(config), measure=False)
        group = run.opt_g.param_groups[0]
        assert len(steps) == 1 and group["lr"] == 2e-4 and group["betas"][0] == 0.5, name


def test_r3gan_is_rpgan_with_r1_and_r2_of_gamma_over_2_on_every_step_and_adam_beta1_0():
    # Huang et al. 2024: RpGAN + R1 + R2, each gamma/2 E|grad D|^2, no lazy R1, Adam (0, 0.99).
    config, run = _run("r3gan")
    steps = []
    run.opt_d.step = _counting(run.opt_d.step, steps)  # type: ignore[method-assign]
    train_step(run, _dataset(config), measure=False)
    assert len(steps) == 1 and run.opt_d.param_groups[0]["betas"] == (0.0, 0.99)
    assert config.r1_every == 1 and all(objectives.r1_due(config, step) for step in range(5))
    gamma = config.r1_weight
    assert gamma == config.r2_weight > 0
    real, fake = torch.randn(16, 2), torch.randn(16, 2)

    def half_gamma_squared_norm(x):
        x = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(run.critic(x).sum(), x)
        return gamma / 2 * grad.pow(2).sum(1).mean()

    expected = half_gamma_squared_norm(real) + half_gamma_squared_norm(fake)
    got = objectives.penalty(config, run.critic, real, fake, torch.Generator())
    assert torch.allclose(got, expected, rtol=1e-5)
    scores_real, scores_fake = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.0])
    pairs = torch.nn.functional.softplus(scores_fake - scores_real).mean()  # pair i with i
    assert torch.allclose(objectives.critic_loss(config, scores_real, scores_fake), pairs)
    mirror = torch.nn.functional.softplus(scores_real - scores_fake).mean()
    assert torch.allclose(objectives.generator_loss(config, scores_fake, scores_real), mirror)
    images = resolve("r3gan", flag_values={"data": "digits"})
    assert images.r1_weight == images.r2_weight > 0 and images.r1_every == 1


def test_every_recipe_is_the_base_with_its_own_changes():
    for recipe in RECIPES.values():
        assert recipe.toy.recipe == recipe.images.recipe == recipe.name
        assert not problems(recipe.toy) and not problems(recipe.images)
        toy_changes = {
            k for k in FIELDS if getattr(recipe.toy, k) != getattr(BASE, k) and k != "recipe"
        }
        # what the image configuration changes on top of the toy one is the DCGAN networks
        # and the paper's image experiments, never the run controls
        image_changes = {k for k in FIELDS if getattr(recipe.images, k) != getattr(recipe.toy, k)}
        assert {"width", "latent_dim"} <= image_changes, recipe.name
        assert not image_changes & {"seed", "steps", "device", "precision", "time_limit"}
        assert "data" not in toy_changes | image_changes


def test_every_objective_has_its_functions_and_an_unknown_name_is_an_error():
    assert set(objectives.CRITIC_LOSSES) == set(objectives.CRITIC_ESTIMATES) == set(OBJECTIVES)
    assert set(objectives.GENERATOR_LOSSES) == set(GENERATOR_LOSSES)
    with pytest.raises(ValueError, match="no critic loss for 'wasserstien'"):
        objectives._pick(objectives.CRITIC_LOSSES, "wasserstien", "critic loss")
    with pytest.raises(ValueError, match="unknown objective"):
        dataclasses.replace(get_recipe("gan"), objective="wasserstien")


# --- merge, checks, files ----------------------------------------------------------------------


def test_merge_order_recipe_then_file_then_flags():
    config = resolve("wgan", {"n_critic": 3, "seed": 4}, {"n_critic": 7, "steps": None})
    assert config.n_critic == 7 and config.seed == 4 and config.clip == 0.01
    assert config.steps == 2000  # None means "flag not given": the base's 2000 steps


def test_all_problems_are_reported_together():
    with pytest.raises(ValueError) as error:
        resolve("gan", {"n_critic": 0, "stepz": 3}, {"lr_d": -1.0, "optimizer": "sgd"})
    message = str(error.value)
    for part in (
        "unknown key 'stepz'",
        "n_critic must be >= 1",
        "lr_d must be > 0",
        "optimizer must be one of adam, rmsprop",
    ):
        assert part in message
    assert "\n" not in message


def test_a_value_of_the_wrong_type_is_named_with_the_range_problems():
    with pytest.raises(GankitError, match=r"clip must be float, got 'x'; lr_g must be > 0"):
        resolve("wgan", {"clip": "x", "lr_g": 0})


def test_unknown_recipe_lists_the_known_ones():
    with pytest.raises(
        ValueError,
        match="unknown recipe 'dcgan'; expected one of: dragan, fgan, gan, gankit, hinge",
    ):
        resolve("dcgan")


def test_toml_round_trip_and_the_file_leads_with_its_format(tmp_path):
    config = resolve("wgan-gp", flag_values={"data": "grid:side=3", "seed": 9})
    write_toml(config, tmp_path / "config.toml", {"note": "x"})
    text = (tmp_path / "config.toml").read_text()
    assert text.splitlines()[1:3] == ["# note: x", f"config_format = {FORMAT}"]
    assert resolve(None, read_toml(tmp_path / "config.toml")) == config
    assert saved_config(read_toml(tmp_path / "config.toml"), "config.toml") == config


def test_a_config_format_this_version_does_not_know_is_refused(tmp_path):
    values = {"config_format": FORMAT + 1, **BASE.to_dict()}
    with pytest.raises(
        GankitError, match=rf"config_format {FORMAT + 1}; this gankit reads formats 1 to {FORMAT}"
    ):
        saved_config(values, "config.toml")
    with pytest.raises(GankitError, match=f"config_format must be {FORMAT}, got 1"):
        resolve(None, {"config_format": 1})


# --- older run folders: the explicit migration -------------------------------------------------


def _format_1(**changes) -> dict:
    """A configuration as gankit wrote it before config_format: no version key, none of the
    keys added later."""
    implied = {**FORMAT_1_IMPLIED, **FORMAT_2_IMPLIED, **FORMAT_3_IMPLIED, **FORMAT_4_IMPLIED}
    old = {k: v for k, v in BASE.to_dict().items() if k not in implied}
    return {**old, "recipe": "wgan-gp", "gp_weight": 0.1, **changes}


def test_format_1_gets_the_values_its_run_had_for_the_keys_it_lacks():
    config = saved_config(_format_1(), "old config.toml")
    assert (config.r1_every, config.r1_weight, config.critic_norm, config.spectral_norm) == (
        1,
        0.0,
        "auto",
        False,
    )
    assert config.divergence == "js" and config.lp_weight == config.dragan_weight == 0.0


def test_format_1_until_the_time_limit_becomes_steps_0():
    values = migrate(_format_1(steps=10**9, time_limit=60.0), "config.toml")
    assert values["steps"] == 0 and "config_format" not in values
    assert saved_config(_format_1(steps=10**9, time_limit=60.0), "c").step_limit is None


def test_a_saved_configuration_missing_other_keys_is_not_one_gankit_wrote():
    values = _format_1()
    del values["lr_g"]
    with pytest.raises(GankitError, match="config.toml lacks lr_g: not a configuration gankit"):
        migrate(values, "config.toml")
    current = {"config_format": FORMAT, **BASE.to_dict()}
    del current["r1_every"]  # format 2 always writes every key
    with pytest.raises(GankitError, match="lacks r1_every"):
        migrate(current, "config.toml")


def test_older_run_folders_had_no_augmentation():
    assert FORMAT_2_IMPLIED == {"augment": "", "augment_p": "1.0"}
    current = {**BASE.to_dict(), "recipe": "nsgan"}
    old = {k: v for k, v in current.items() if k not in {**FORMAT_2_IMPLIED, **FORMAT_3_IMPLIED}}
    config = saved_config({"config_format": 2, **old}, "config.toml")
    assert (config.augment, config.augment_p) == ("", "1.0")
    with pytest.raises(GankitError, match="lacks augment, augment_p"):  # format 3 writes them
        saved_config({"config_format": 3, **old, "conditional": False}, "config.toml")


def test_older_run_folders_were_unconditional():
    assert FORMAT_3_IMPLIED == {"conditional": False}
    current = {**BASE.to_dict(), "recipe": "nsgan"}
    old = {k: v for k, v in current.items() if k != "conditional"}
    assert saved_config({"config_format": 3, **old}, "config.toml").conditional is False
    with pytest.raises(GankitError, match="lacks conditional"):  # format 4 writes it
        saved_config({"config_format": 4, **old}, "config.toml")


def test_older_run_folders_were_not_self_conditioned():
    assert FORMAT_4_IMPLIED == {"clusters": "0"}
    current = {**BASE.to_dict(), "recipe": "nsgan", "conditional": True}
    old = {k: v for k, v in current.items() if k != "clusters"}
    config = saved_config({"config_format": 4, **old}, "config.toml")
    assert config.clusters == "0" and config.conditional and config.takes_classes()
    with pytest.raises(GankitError, match="lacks clusters"):  # format 5 writes it
        saved_config({"config_format": 5, **old}, "config.toml")


# --- steps = 0: until the time limit, and no sentinel anywhere -----------------------------------


def test_a_time_limit_without_steps_trains_until_the_time_limit():
    assert resolve(flag_values={"time_limit": 60}).steps == 0
    assert resolve(flag_values={"time_limit": 60}).step_limit is None
    assert resolve(flag_values={"time_limit": 60, "steps": 10}).steps == 10
    assert resolve(file_values={"steps": 10}, flag_values={"time_limit": 60}).steps == 10
    assert resolve().steps == 2000  # no time limit: the recipe's count
    with pytest.raises(GankitError, match=r"steps must be >= 1, got 0 \(0 means until the time"):
        resolve(flag_values={"steps": 0})


def test_config_toml_of_a_time_limited_run_says_so_in_words():
    text = toml_text(resolve(flag_values={"time_limit": 30}))
    assert "steps = 0  # no step limit: trains until time_limit" in text
    assert "1000000000" not in text and "e+09" not in text


def test_train_config_has_no_defaults_of_its_own():
    with pytest.raises(TypeError):
        TrainConfig()  # type: ignore[call-arg]


def test_the_critic_schedule_of_the_original_wgan_code():
    config = resolve("wgan", flag_values={"critic_warmup": True})
    assert [critic_steps_at(config, s) for s in (0, 24, 25, 499, 500, 501)] == [
        100,
        100,
        5,
        5,
        100,
        5,
    ]
    assert critic_steps_at(resolve("wgan"), 0) == 5


def _counting(step, calls: list):
    def counted(*args, **kwargs):
        calls.append(1)
        return step(*args, **kwargs)

    return counted


def _dataset(config):
    from gankit.data import make_data

    return make_data(config.data)
