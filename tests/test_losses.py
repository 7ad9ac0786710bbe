"""Property tests of the objectives in `monossl.losses` (one pure function each)."""
import pytest
import torch
from torch import nn

from monossl.losses import critic_loss, generator_loss, gradient_penalty, rotate_batch, rotation_loss


def test_critic_loss_is_negated_wasserstein_plus_penalty():
    d_real, d_fake = torch.tensor([3.0, 5.0]), torch.tensor([1.0, -1.0])
    penalty = torch.tensor(0.25)
    assert critic_loss(d_real, d_fake, penalty, 10.0).item() == (0.0 - 4.0) + 2.5
    # shifting every score by a constant changes nothing (only differences matter)
    assert torch.isclose(critic_loss(d_real + 7, d_fake + 7, penalty, 10.0), critic_loss(d_real, d_fake, penalty, 10.0))


def test_generator_loss_raises_fake_scores():
    fake = torch.tensor([0.5, 1.5], requires_grad=True)
    generator_loss(fake).backward()
    assert torch.allclose(fake.grad, torch.full((2,), -0.5))  # descending it pushes D(G(z)) up


def test_gradient_penalty_is_zero_for_unit_norm_linear_critic_and_exact_otherwise():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 1, bias=False))
    with torch.no_grad():
        critic[1].weight.copy_(torch.randn(1, 12))
        critic[1].weight.div_(critic[1].weight.norm())
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    assert gradient_penalty(critic, real, fake).item() < 1e-10
    with torch.no_grad():
        critic[1].weight.mul_(3.0)
    assert torch.isclose(gradient_penalty(critic, real, fake), torch.tensor(4.0))  # (3 - 1)^2 at every interpolate


def test_rotation_loss_is_log4_for_uniform_logits_and_counts_accuracy():
    images = torch.randn(3, 3, 8, 8)
    inputs, labels = rotate_batch(images)
    loss, accuracy = rotation_loss(torch.zeros(12, 4), labels)
    assert torch.isclose(loss, torch.log(torch.tensor(4.0)))
    perfect = torch.nn.functional.one_hot(labels, 4).float() * 50
    loss, accuracy = rotation_loss(perfect, labels)
    assert loss.item() < 1e-6 and accuracy.item() == 1.0
    assert labels.bincount().tolist() == [3, 3, 3, 3]  # every image in all four rotations


def test_one_forward_over_real_and_fake_equals_two():
    from monossl.methods.monogan import Critic

    critic = Critic()
    real, fake = torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)
    joint_real, joint_fake = critic(torch.cat([real, fake])).split(4)
    assert torch.allclose(joint_real, critic(real), atol=1e-5) and torch.allclose(joint_fake, critic(fake), atol=1e-5)


def test_nt_xent_on_four_pairs_by_hand_and_its_minimum_when_views_coincide():
    import math

    import torch.nn.functional as F

    from monossl.losses.ntxent import nt_xent

    torch.manual_seed(0)
    z1, z2 = torch.randn(4, 3), torch.randn(4, 3)
    t = 0.5
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    total = 0.0
    for i in range(8):
        partner = (i + 4) % 8
        others = [j for j in range(8) if j != i]
        total += -(z[i] @ z[partner] / t) + math.log(sum(math.exp(float(z[i] @ z[j]) / t) for j in others))
    assert float(nt_xent(z1, z2, t)) == pytest.approx(float(total) / 8, rel=1e-5)
    basis = torch.eye(4)  # identical views, orthogonal pairs: every partner at similarity 1, every other at 0
    floor = -1 / t + math.log(math.exp(1 / t) + 6 * math.exp(0))
    assert float(nt_xent(basis, basis, t)) == pytest.approx(floor, rel=1e-6)
    assert float(nt_xent(basis, basis, t)) < float(nt_xent(z1, z2, t))
    assert float(nt_xent(basis * 3, basis, t)) == pytest.approx(floor, rel=1e-6)  # the norm does not matter


def test_dino_centring_sharpening_and_ema_step():
    from monossl.losses.dino import dino_loss, ema_update, update_center

    teacher = [torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]), torch.tensor([[0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])]
    center = torch.zeros(3)
    new = update_center(center, teacher, momentum=0.9)
    assert torch.allclose(new, 0.1 * torch.tensor([1.0, 0.5, 0.5]))  # 0.9 * 0 + 0.1 * the mean of 4 rows
    # a student that equals the teacher's sharpened target on the *other* view scores lower than one that does not
    student_good = [teacher[1] * 10, teacher[0] * 10]
    student_bad = [teacher[0] * 10, teacher[1] * 10]
    good, bad = (float(dino_loss(s, teacher, torch.zeros(3), 0.1, 0.04)) for s in (student_good, student_bad))
    assert good < bad
    # centring: a constant added to every teacher output and to the centre changes nothing
    shifted = [t + 5 for t in teacher]
    assert float(dino_loss(student_good, shifted, torch.full((3,), 5.0), 0.1, 0.04)) == pytest.approx(good, rel=1e-5)
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = a.weight.detach().clone()
    ema_update(a, b, momentum=0.75)
    assert torch.allclose(a.weight, 0.75 * before + 0.25 * b.weight)
