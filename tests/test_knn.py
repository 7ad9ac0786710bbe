"""Weighted kNN evaluation: the votes, ties, and what it refuses."""
import numpy as np
import pytest
import torch

from monossl.errors import UserError
from monossl.probes.knn import knn_accuracy, knn_predict, normalise, pooled


def test_knn_is_perfect_on_a_separable_set_and_weights_votes_by_similarity():
    rng = np.random.default_rng(0)
    centres = np.eye(4, 16) * 10
    labels = np.repeat(np.arange(4), 25)
    train = normalise(centres[labels] + rng.normal(0, 0.5, (100, 16)))
    test_labels = np.repeat(np.arange(4), 10)
    test = normalise(centres[test_labels] + rng.normal(0, 0.5, (40, 16)))
    assert knn_accuracy(train, labels, test, test_labels, 4, k=10)["knn_top1"] == 100.0
    # one close neighbour of class 1 outvotes two far ones of class 0 when the temperature is low
    train2 = normalise(np.array([[1.0, 0.0], [0.6, 0.8], [0.6, 0.8]]))
    scores = knn_predict(train2, np.array([1, 0, 0]), normalise(np.array([[1.0, 0.05]])), 2, k=3, temperature=0.05)
    assert scores.argmax(1).tolist() == [1]
    scores = knn_predict(train2, np.array([1, 0, 0]), normalise(np.array([[1.0, 0.05]])), 2, k=3, temperature=100.0)
    assert scores.argmax(1).tolist() == [0]  # a high temperature is a plain majority vote
    assert np.allclose(scores.sum(1), 3 * np.exp(1 / 100), rtol=0.01)  # k votes of weight exp(sim / T), sim <= 1


def test_ties_go_to_the_lowest_class_and_bad_settings_are_refused():
    train = normalise(np.array([[1.0, 0.0], [1.0, 0.0]]))
    scores = knn_predict(train, np.array([2, 1]), normalise(np.array([[1.0, 0.0]])), 3, k=2)
    assert scores[0, 1] == scores[0, 2] and scores.argmax(1).tolist() == [1]
    assert knn_accuracy(train, np.array([2, 1]), train, np.array([1, 1]), 3, k=2)["knn_top1"] == 100.0
    with pytest.raises(UserError, match="knn_k=3: must lie between 1 and the 2 training images"):
        knn_predict(train, np.array([0, 1]), train, 2, k=3)
    with pytest.raises(UserError, match="knn_temperature=0.0"):
        knn_predict(train, np.array([0, 1]), train, 2, k=1, temperature=0.0)


def test_pooling_averages_each_channel_over_positions():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    assert torch.allclose(pooled(x.flatten(1), (3, 4, 4), 1), x.mean((2, 3)))
    assert pooled(x.flatten(1), (3, 4, 4), 2).shape == (2, 12)


@pytest.mark.integration
def test_probe_knn_writes_both_measures_per_tap_in_one_result(tiny_cifar, tmp_path):
    import json

    from monossl.cli import main

    out = tmp_path / "r.json"
    assert main(["probe", "random", "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--epochs", "1", "--knn",
                 "--knn-k", "5", "--out", str(out)]) == 0
    taps = json.loads(out.read_text())["taps"]
    assert all({"top1", "knn_top1", "knn_top5"} <= set(m) for m in taps.values())
    only = tmp_path / "k.json"
    assert main(["probe", "random", "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--knn-only", "--knn-k", "5",
                 "--out", str(only)]) == 0
    knn = json.loads(only.read_text())["taps"]
    assert all("top1" not in m for m in knn.values()) and {t: m["knn_top1"] for t, m in knn.items()} == \
        {t: m["knn_top1"] for t, m in taps.items()}  # the same kNN, alone or beside the linear probe (shared features)
    assert main(["probe", "random", "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--knn", "--knn-k", "500",
                 "--out", str(tmp_path / "x.json")]) == 2
