"""The shared foundations: the seeding rule, the schedule, the training input, config shapes, the registry."""
import json

import numpy as np
import pytest

from monossl.data.inputs import TrainInput
from monossl.data.sampler import AugmentConfig
from monossl.errors import UserError
from monossl.methods import METHODS, check, coerce, method_module, resolve_hparams
from monossl.methods.engine import PretrainConfig
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
        TrainInput(sources=("a.png",), dataset="cifar10").validate()
    with pytest.raises(UserError, match="--size 32"):
        TrainInput(dataset="cifar10", augment=AugmentConfig(size=64)).validate()
    assert TrainInput.from_dict(json.loads(json.dumps(inp.to_dict()))) == inp


def test_old_config_shape_is_read():
    old = {"method": "rotnet", "out": "r", "arch": "cifar", "sources": ["img.png"], "patches": None, "dataset": None,
           "folder": None, "size": 32, "count": 640, "endless": False, "augment": {"scale": False, "flip": True},
           "epochs": 3, "batch_size": 64, "seed": 1, "device": "cpu", "devices": 1, "precision": "32-true",
           "workers": 0, "data_root": None, "hparams": {"lr": 0.01}}
    config = PretrainConfig.from_dict(old)
    assert config.input.sources == ("img.png",) and config.input.count == 640 and config.input.size == 32
    assert config.input.augment.scale is False and config.seed == 1 and config.hparams == {"lr": 0.01}
    assert PretrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(UserError, match="does not describe a monossl run"):
        PretrainConfig.from_dict({"method": "rotnet", "out": "r", "input": {"bogus": 1}})


def test_registry_is_static_and_every_method_has_its_parts():
    assert list(METHODS) == ["rotnet", "deepcluster", "monogan", "bigan", "supervised"]
    for name in METHODS:
        module = method_module(name)
        assert callable(module.train) and callable(module.check) and module.Hparams()


def test_hyperparameters_take_their_declared_types():
    hp = resolve_hparams("monogan", {"beta1": "0", "lr": "4e-4", "gen_dim": "32"})
    assert hp.beta1 == 0.0 and isinstance(hp.beta1, float) and isinstance(hp.gen_dim, int)
    assert resolve_hparams("rotnet", {"milestones": "0.5,0.75"}).milestones == (0.5, 0.75)
    assert resolve_hparams("rotnet", {"hidden": None}).hidden is None
    for bad, message in [({"lr": "nan"}, "finite"), ({"lr": "-1"}, "zero or more"), ({"lr": "fast"}, "a number"),
                         ({"gen_dim": "3.5"}, "whole number"), ({"nope": 1}, "unknown hyperparameter")]:
        with pytest.raises(UserError, match=message):
            resolve_hparams("monogan", bad)
    assert coerce("nesterov", bool, "false") is False


def test_check_refuses_before_launch():
    base = dict(method="deepcluster", out="x", input=TrainInput(sources=("a.png",), count=512), epochs=1, batch_size=64)
    with pytest.raises(UserError, match="--k 1000 clusters but only 512"):
        check(PretrainConfig(**base))
    with pytest.raises(UserError, match="--batch-size 1024"):
        check(PretrainConfig(**{**base, "batch_size": 1024}, hparams={"k": 8}))
    with pytest.raises(UserError, match="--workers -1"):
        check(PretrainConfig(**{**base, "workers": -1}, hparams={"k": 8}))
    with pytest.raises(UserError, match="needs labels"):
        check(PretrainConfig(**{**base, "method": "supervised"}))
    with pytest.raises(UserError, match="--epochs 0"):
        check(PretrainConfig(**{**base, "epochs": 0}, hparams={"k": 8}))
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
