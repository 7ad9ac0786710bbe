"""The shared foundations: the seeding rule, the schedule, the training input, config shapes, the registry."""
import json

import numpy as np
import pytest

from monossl.data.augment import AugmentConfig
from monossl.data.inputs import TrainInput
from monossl.errors import OptionError, UserError
from monossl.methods import METHODS, check, method_module
from monossl.methods.config import PretrainConfig, hparams_class
from monossl.options import build, to_dict
from monossl.schedule import linear_lr, milestone_epochs, step_lr, warmup_lr
from monossl.seeding import derive_seed


def test_derived_seeds_are_stable_distinct_and_in_range():
    assert derive_seed(0, "shuffle", 3) == derive_seed(0, "shuffle", 3)
    seeds = {derive_seed(s, k, e) for s in range(3) for k in ("shuffle", "top", "kmeans") for e in range(20)}
    assert len(seeds) == 3 * 3 * 20
    assert all(0 <= s < 2**32 for s in seeds)
    assert derive_seed(1, 0) != derive_seed(0, 1)  # no seed*K+epoch collisions


def test_step_schedule_in_epochs_and_fractions():
    assert [step_lr(0.01, e, (5, 15, 25), 0.2) for e in (0, 4, 5, 14, 15, 25, 35)] == pytest.approx(
        [0.01, 0.01, 0.002, 0.002, 0.0004, 0.00008, 0.00008])
    assert milestone_epochs((0.3, 0.6, 0.8), 100) == (30, 60, 80)
    assert milestone_epochs((0.3, 0.6, 0.8), 5) == (2, 3, 4)


def test_linear_schedule_falls_to_zero_at_the_last_step():
    rates = [linear_lr(4e-4, s, 100) for s in range(101)]
    assert rates[0] == 4e-4 and rates[50] == pytest.approx(2e-4) and rates[100] == 0.0
    assert all(a > b for a, b in zip(rates, rates[1:]))  # strictly falling, never negative
    assert linear_lr(4e-4, 150, 100) == 0.0


def test_warmup_ramps_linearly_to_the_rate_then_holds_it():
    rates = [warmup_lr(0.1, s, 4) for s in range(8)]
    assert rates == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1, 0.1])  # lr at the warm-up's last step
    assert [warmup_lr(0.1, s, 0) for s in range(3)] == [0.1] * 3  # no warm-up: the rate itself, bit for bit


def test_train_input_holds_the_patch_size_and_validates():
    inp = TrainInput(sources=("a.png",), count=10, augment=AugmentConfig(size=64))
    assert inp.size == 64 and inp.kind == "sources"
    with pytest.raises(UserError, match="exactly one input"):
        TrainInput(sources=("a.png",), dataset="cifar10").require_one()
    with pytest.raises(UserError, match="size is 64; pass size 32"):
        TrainInput(dataset="cifar10", augment=AugmentConfig(size=64))
    assert TrainInput.from_dict(json.loads(json.dumps(inp.to_dict()))) == inp


def test_old_config_shape_is_read():
    old = {"method": "rotnet", "out": "r", "arch": "cifar", "sources": ["img.png"], "patches": None, "dataset": None,
           "folder": None, "size": 32, "count": 640, "endless": False, "augment": {"scale": False, "flip": True},
           "epochs": 3, "batch_size": 64, "seed": 1, "device": "cpu", "devices": 1, "precision": "32-true",
           "workers": 0, "data_root": None, "hparams": {"lr": 0.01}}
    config = PretrainConfig.from_dict(old)
    assert config.input.sources == ("img.png",) and config.input.count == 640 and config.input.size == 32
    assert config.input.augment.scale is False and config.seed == 1 and config.hparams["lr"] == 0.01
    assert config.hparams == to_dict(METHODS["rotnet"].hparams(lr=0.01))  # every option of the method recorded
    assert PretrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(UserError, match=r"input.bogus=1: unknown setting"):
        PretrainConfig.from_dict({"method": "rotnet", "out": "r", "input": {"bogus": 1}})


def test_registry_is_static_and_every_method_has_its_parts():
    assert list(METHODS) == ["rotnet", "deepcluster", "monogan", "bigan", "supervised", "simclr", "dino", "distill"]
    for name, method in METHODS.items():
        module = method_module(name)
        assert callable(module.train) and callable(module.check) and module.Hparams is method.hparams
    # the defaults are the papers': RotNet's SGD, DeepCluster's k and rate, WGAN-GP's Adam and penalty, BiGAN's latent
    paper = {"rotnet": dict(lr=0.01, momentum=0.9, weight_decay=5e-4, milestones=(0.3, 0.6, 0.8), lr_factor=0.2),
             "deepcluster": dict(k=1000, pca_dim=256, lr=0.05, momentum=0.9, weight_decay=1e-5),
             "monogan": dict(lr=1e-4, beta1=0.5, beta2=0.9, gp_lambda=10.0, critic_steps=5, latent=128),
             "bigan": dict(lr=2e-4, beta1=0.5, latent=200), "supervised": dict(lr=0.01, momentum=0.9),
             "simclr": dict(temperature=0.5, proj_dim=128), "distill": dict(temperature=8.0, lr=1e-3, optimiser="adam"),
             "dino": dict(out_dim=65536, student_temp=0.1, teacher_temp=0.04, center_momentum=0.9, momentum=0.996,
                          local_crops=8, global_scale=(0.4, 1.0), local_scale=(0.05, 0.4))}
    for name, values in paper.items():
        defaults = METHODS[name].hparams()
        assert {k: getattr(defaults, k) for k in values} == values, name


def test_options_take_their_declared_types_from_text_and_files():
    hp = build(METHODS["monogan"].hparams, {"beta1": "0", "lr": "4e-4", "gen_dim": "32"}, text=True)
    assert hp.beta1 == 0.0 and isinstance(hp.beta1, float) and isinstance(hp.gen_dim, int)
    assert build(METHODS["rotnet"].hparams, {"milestones": "0.5,0.75"}, text=True).milestones == (0.5, 0.75)
    assert build(METHODS["rotnet"].hparams, {"hidden": None}).hidden is None
    for bad, message in [({"lr": "nan"}, "finite"), ({"lr": "-1"}, "more than 0"), ({"lr": "fast"}, "a number"),
                         ({"gen_dim": "3.5"}, "whole number"), ({"nope": "1"}, "unknown setting"),
                         ({"upsample": "fancy"}, "choose deconv, resize, bilinear")]:
        with pytest.raises(UserError, match=message):
            build(METHODS["monogan"].hparams, bad, text=True)
    # a file is stricter than the command line: no number given as text, no float where a count is expected
    for bad, message in [({"gen_dim": 3.0}, "whole number, not float"), ({"lr": "4e-4"}, "a number"),
                         ({"milestones": 0.5}, "given as a list"), ({"gen_dim": True}, "whole number")]:
        with pytest.raises(UserError, match=message):
            build(METHODS["monogan"].hparams if "milestones" not in bad else METHODS["rotnet"].hparams, bad, source="f.json")
    assert build(METHODS["rotnet"].hparams, {"lr": 1}).lr == 1.0  # an int is a float


def test_errors_speak_the_language_of_where_the_value_came_from():
    with pytest.raises(OptionError) as api:
        TrainInput(sources=("a.png",), count=0)
    assert str(api.value) == "count=0: must be at least 1"
    assert api.value.cli_text() == "--count 0: must be at least 1"
    with pytest.raises(OptionError) as file:
        build(PretrainConfig, {"method": "rotnet", "input": {"count": 2.5}}, source="run.yaml", hparams=hparams_class)
    assert file.value.cli_text() == "--config run.yaml: input.count: must be a whole number, not float 2.5"
    with pytest.raises(OptionError) as typo:
        build(PretrainConfig, {"method": "rotnet", "epoch": 3}, source="run.yaml", hparams=hparams_class)
    assert "epoch: unknown setting (did you mean 'epochs'?)" in typo.value.cli_text()
    with pytest.raises(UserError) as refs:
        check(PretrainConfig(method="deepcluster", out="x", input=TrainInput(sources=("synthetic:noise",), count=512)))
    assert "lower k" in str(refs.value) and "lower --k" in refs.value.cli_text() and "--count" in refs.value.cli_text()


def test_check_refuses_before_launch():
    base = dict(method="deepcluster", out="x", input=TrainInput(sources=("synthetic:noise",), count=512), epochs=1, batch_size=64)
    with pytest.raises(UserError, match="k=1000: more clusters than the 512 training images"):
        check(PretrainConfig(**base))
    with pytest.raises(UserError, match="batch_size=1024: 512 training images"):
        check(PretrainConfig(**{**base, "batch_size": 1024}, hparams={"k": 8}))
    with pytest.raises(UserError, match="workers=-1: must be at least 0"):
        check(PretrainConfig(**{**base, "workers": -1}, hparams={"k": 8}))
    with pytest.raises(UserError, match="needs labels"):
        check(PretrainConfig(**{**base, "method": "supervised"}))
    with pytest.raises(UserError, match="epochs=0: must be at least 1"):
        check(PretrainConfig(**{**base, "epochs": 0}, hparams={"k": 8}))
    with pytest.raises(UserError, match="precision='bogus': choose 32-true"):
        PretrainConfig(**{**base, "precision": "bogus"})
    assert check(PretrainConfig(**base, hparams={"k": 8})).k == 8


def test_folder_scan_gives_images_and_labels_once_and_refuses_strays(tmp_path):
    from PIL import Image

    from monossl.data.folder import per_class_subset, scan_folder

    for c in ("cat", "dog"):
        (tmp_path / c).mkdir()
        for i in range(6):
            Image.fromarray(np.full((8, 8, 3), i * 20, np.uint8)).save(tmp_path / c / f"{i}.png")
    (tmp_path / "notes.txt").write_text("ignored")
    samples, classes = scan_folder(tmp_path)
    assert classes == ["cat", "dog"] and len(samples) == 12
    pick = per_class_subset(samples, 4, seed=3)
    assert pick == per_class_subset(samples, 4, seed=3) and [c for _, c in pick].count(0) == 2 and len(pick) == 4
    assert pick != per_class_subset(samples, 4, seed=4)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "stray.png")
    with pytest.raises(UserError, match="beside the class folders"):
        scan_folder(tmp_path)
