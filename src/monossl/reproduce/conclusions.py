"""The paper's claims per table, checked against our numbers (§4.2-4.3): each is a comparison of row
means with a noise margin learnt from the rows that ran at several seeds. Verdicts: holds / does not
hold / inconclusive at this budget / not checked (rows missing). Generated at every report, so they
stay true when rows are re-run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from monossl.reproduce.paper import JOINT_EMBEDDING, MATCHING_RANDOM, METHODS_2019
from monossl.stats import pooled_std

HOLDS, FAILS, UNSURE = "holds", "does not hold", "inconclusive at this budget"
FALLBACK_MARGIN = 1.0  # points: the rule of thumb when no row ran at several seeds


def noise_margin(summary: dict, taps) -> tuple[float, str]:
    """Twice the standard deviation of a difference between two single-seed rows, from the pooled
    per-tap spread of every row that ran at several seeds (never below FALLBACK_MARGIN)."""
    repeated = {k: s for k, s in summary.items() if s["n"] > 1 and all(t in s["std"] for t in taps)}
    rows = [f"({key})" for key in repeated]
    sigma = pooled_std((s["n"], s["std"][t]) for s in repeated.values() for t in taps)
    if sigma is None:
        return FALLBACK_MARGIN, f"no row ran at several seeds yet: the {FALLBACK_MARGIN:.0f}-point rule of thumb"
    margin = max(FALLBACK_MARGIN, 2 * math.sqrt(2) * sigma)
    return margin, (f"2·√2·σ with σ = {sigma:.2f}, the pooled seed-to-seed spread of rows {', '.join(rows)}"
                    + (f", floored at {FALLBACK_MARGIN:.0f}" if margin == FALLBACK_MARGIN else ""))


def mean(summary: dict, key: str, taps) -> float:
    return float(np.mean([summary[key]["mean"][t] for t in taps]))


def compare(diff: float, margin: float) -> str:
    """A signed difference that should be positive: holds, does not hold, or inconclusive."""
    return HOLDS if diff > margin else FAILS if diff < -margin else UNSURE


@dataclass(frozen=True)
class Claim:
    """A claim about `rows`. With `partial`, a claim about every row is judged on the rows that ran: "does not
    hold" stands, and any other verdict waits for the missing rows, shown as found so far."""
    text: str
    rows: tuple[str, ...]
    judge: Callable[[dict, tuple, float], tuple[str, str]]
    partial: bool = False

    def check(self, summary: dict, taps: tuple, margin: float) -> tuple[str, str]:
        missing = [k for k in self.rows if k not in summary]
        if not missing:
            return self.judge(summary, taps, margin)
        waiting = f"Rows {', '.join(f'({k})' for k in missing)} have not run."
        if not self.partial:
            return "not checked", waiting
        verdict, evidence = self.judge(summary, taps, margin)
        if verdict == FAILS:
            return FAILS, f"{evidence} {waiting}"
        return "not checked", waiting + ("" if verdict == "not checked" else f" So far ({verdict}): {evidence}")


def fmt(summary: dict, key: str, taps) -> str:
    return f"({key}) " + "/".join(f"{summary[key]['mean'][t]:.1f}" for t in taps)


# ---- Table 1 (§4.2): augmentation ablation of MonoGAN on Image B ----
def _no_aug_like_random(s, taps, margin):
    """Against the matching random trunk: MonoGAN's critic at init (rc) when it ran, else the paper's (b)."""
    base = "rc" if "rc" in s else "b"
    diff = mean(s, "c", taps) - mean(s, base, taps)
    verdict = HOLDS if abs(diff) <= margin else FAILS
    other = "b" if base == "rc" else None
    extra = f"; against ({other}) {mean(s, 'c', taps) - mean(s, other, taps):+.1f}" if other and other in s else ""
    return verdict, f"{fmt(s, 'c', taps)} against {fmt(s, base, taps)}: {diff:+.1f} on average{extra}."


def _every_aug_helps(s, taps, margin):
    gains = {k: mean(s, k, taps) - mean(s, "c", taps) for k in "def"}
    verdicts = [compare(g, margin) for g in gains.values()]
    verdict = FAILS if FAILS in verdicts else HOLDS if all(v == HOLDS for v in verdicts) else UNSURE
    names = {"d": "jitter", "e": "rotation", "f": "scale"}
    return verdict, "Over no augmentation, on average: " + ", ".join(f"{names[k]} {g:+.1f}" for k, g in gains.items()) + "."


def _scale_strongest(s, taps, margin):
    other = max("de", key=lambda k: mean(s, k, taps))
    diff = mean(s, "f", taps) - mean(s, other, taps)
    return compare(diff, margin), f"Scale {mean(s, 'f', taps):.1f} against the best other, ({other}) {mean(s, other, taps):.1f}: {diff:+.1f}."


def _all_best(s, taps, margin):
    others = [k for k in "cdefghi" if k in s]
    if not others:
        return "not checked", "Rows (c)–(i), the single augmentations and pairs to compare with, have not run."
    best = max(others, key=lambda k: mean(s, k, taps))
    diff = mean(s, "j", taps) - mean(s, best, taps)
    verdict = HOLDS if diff >= 0 else FAILS if diff < -margin else UNSURE
    level = "; first, but within the noise margin" if 0 <= diff <= margin else ""
    return verdict, (f"All {mean(s, 'j', taps):.1f} on average; the best other row, ({best}), {mean(s, best, taps):.1f} "
                     f"({diff:+.1f}){level}.")


# ---- Tables 3 and 4 (§4.3): one image against supervision and whole datasets ----
def _matches_supervised_conv1(mono, sup):
    def judge(s, taps, margin):
        diff = s[mono]["mean"][taps[0]] - s[sup]["mean"][taps[0]]
        verdict = HOLDS if diff >= -margin else FAILS
        return verdict, f"{taps[0]}: ({mono}) {s[mono]['mean'][taps[0]]:.1f} against ({sup}) {s[sup]['mean'][taps[0]]:.1f} ({diff:+.1f})."
    return judge


def _gap_grows(mono, full):
    def judge(s, taps, margin):
        gaps = [s[full]["mean"][t] - s[mono]["mean"][t] for t in taps]
        return compare(gaps[-1] - gaps[0], margin), (f"({full}) − ({mono}) per layer: " + " / ".join(f"{g:+.1f}" for g in gaps) + ".")
    return judge


def _rivals_dataset(mono, full):
    def judge(s, taps, margin):
        early = taps[:2]
        diff = mean(s, mono, early) - mean(s, full, early)
        verdict = HOLDS if diff >= -margin else FAILS
        return verdict, f"{'–'.join(early)}: {fmt(s, mono, early)} against {fmt(s, full, early)} ({diff:+.1f} on average)."
    return judge


def _beat_random(matching: dict[str, str], fallback: str = "b"):
    """Each trained row against its matching random trunk (row -> random row; falls back to `fallback`)."""
    def judge(s, taps, margin):
        against = {k: r if r in s else fallback for k, r in matching.items() if k in s}
        against = {k: r for k, r in against.items() if r in s}
        gains = {k: mean(s, k, taps) - mean(s, r, taps) for k, r in against.items()}
        if not gains:
            return "not checked", f"No trained row ({_named(matching)}) has run."
        verdicts = [compare(g, margin) for g in gains.values()]
        verdict = FAILS if FAILS in verdicts else HOLDS if all(v == HOLDS for v in verdicts) else UNSURE
        return verdict, "Over the matching random trunk, on average: " + ", ".join(
            f"({k}) {g:+.1f} against ({against[k]})" for k, g in gains.items()) + "."
    return judge


# ---- Table 2 (§4.3): each method from one image against the full dataset (1.28M images in the paper) ----
def _ran(s, pairs):
    """The (full-dataset row, single-image rows) pairs with the full row and at least one single-image row run."""
    pairs = [(full, tuple(m for m in monos if m in s)) for full, monos in pairs if full in s]
    return [(full, monos) for full, monos in pairs if monos]


def _mono_matches_million(pairs):
    def judge(s, taps, margin):
        early, parts, verdicts = taps[:2], [], []
        if not _ran(s, pairs):
            return "not checked", "No method has its full-dataset row and a single-image row run."
        for full, monos in _ran(s, pairs):
            best = max(monos, key=lambda k: mean(s, k, early))
            diff = mean(s, best, early) - mean(s, full, early)
            verdicts.append(HOLDS if diff >= -margin else FAILS)
            parts.append(f"({best}) against ({full}) {diff:+.1f}")
        verdict = HOLDS if all(v == HOLDS for v in verdicts) else FAILS if all(v == FAILS for v in verdicts) else UNSURE
        return verdict, f"{'–'.join(early)} on average, best single image against the full set: " + "; ".join(parts) + "."
    return judge


def _mono_gap_grows(pairs):
    def judge(s, taps, margin):
        parts, verdicts = [], []
        for full, monos in pairs:
            best = max(monos, key=lambda k: mean(s, k, taps))
            gaps = [s[full]["mean"][t] - s[best]["mean"][t] for t in taps]
            verdicts.append(compare(gaps[-1] - gaps[0], margin))
            parts.append(f"({full}) − ({best}): " + "/".join(f"{g:+.1f}" for g in gaps))
        verdict = HOLDS if all(v == HOLDS for v in verdicts) else FAILS if all(v == FAILS for v in verdicts) else UNSURE
        return verdict, "; ".join(parts) + "."
    return judge


# ---- Table S (ours): natural photographs against synthetic sources ----
NATURAL = ("image_a", "image_b", "astronaut", "chelsea", "coffee", "hubble", "grass", "clock", "coins", "camera", "ihc",
           "brick", "rocket", "retina", "moon")
SYNTHETIC = ("deadleaves", "fractal", "noise")


def _named(keys) -> str:
    return ", ".join(f"({k})" for k in keys)


def _best(s, keys, taps):
    present = [k for k in keys if k in s]
    return max(present, key=lambda k: mean(s, k, taps)) if present else None


def _natural_beats_synthetic(s, taps, margin):
    early = taps[:3]
    nat, syn = _best(s, NATURAL, early), _best(s, SYNTHETIC, early)
    if nat is None or syn is None:
        return "not checked", (f"Needs a natural row (one of {_named(NATURAL)}) and a synthetic row (one of "
                               f"{_named(SYNTHETIC)}); {'neither has' if nat is None and syn is None else 'one kind has not'} run.")
    diff = mean(s, nat, early) - mean(s, syn, early)
    return compare(diff, margin), (f"{'–'.join(early)} on average: best natural ({nat}) {mean(s, nat, early):.1f}, best synthetic "
                                   f"({syn}) {mean(s, syn, early):.1f} ({diff:+.1f}).")


def _synthetic_beats_random(s, taps, margin):
    syn = _best(s, SYNTHETIC, taps)
    base = "critic" if "critic" in s else "random"
    if syn is None or base not in s:
        return "not checked", f"Needs a synthetic row (one of {_named(SYNTHETIC)}) and (random) or (critic)."
    diff = mean(s, syn, taps) - mean(s, base, taps)
    return compare(diff, margin), f"Best synthetic ({syn}) {mean(s, syn, taps):.1f} against ({base}) {mean(s, base, taps):.1f} ({diff:+.1f})."


def _paper_images_not_special(s, taps, margin):
    paper, photo = _best(s, ("image_a", "image_b"), taps), _best(s, NATURAL[2:], taps)
    if paper is None or photo is None:
        return "not checked", f"Needs (image_a) or (image_b), and another photograph (one of {_named(NATURAL[2:])})."
    diff = mean(s, photo, taps) - mean(s, paper, taps)
    verdict = HOLDS if diff >= -margin else FAILS
    return verdict, f"Best other photograph ({photo}) {mean(s, photo, taps):.1f} against ({paper}) {mean(s, paper, taps):.1f} ({diff:+.1f})."


# ---- Table D (ours): distillation from one image ----
PHOTOS_D, SYNTHETIC_D = ("image_a", "image_b", "astronaut"), ("deadleaves", "fractal", "noise")
TARGET_SHARE = 0.85


def _recovers_teacher(s, taps, margin):
    c = taps[0]
    teacher, student = s["teacher"]["mean"][c], s["image_b"]["mean"][c]
    diff = student - TARGET_SHARE * teacher
    return compare(diff, margin), (f"Image B's student {student:.1f} against the teacher's {teacher:.1f}: "
                                   f"{student / teacher:.2f} of it ({diff:+.1f} points from {TARGET_SHARE:.0%}).")


def _photo_beats_synthetic_d(s, taps, margin):
    photo, syn = _best(s, PHOTOS_D, taps), _best(s, SYNTHETIC_D, taps)
    if photo is None or syn is None:
        return "not checked", f"Needs a photograph row (one of {_named(PHOTOS_D)}) and a synthetic row (one of {_named(SYNTHETIC_D)})."
    diff = mean(s, photo, taps) - mean(s, syn, taps)
    return compare(diff, margin), f"Best photograph ({photo}) {mean(s, photo, taps):.1f}, best synthetic ({syn}) {mean(s, syn, taps):.1f} ({diff:+.1f})."


def _beats_gaussian(s, taps, margin):
    rows = [k for k in (*PHOTOS_D, *SYNTHETIC_D) if k in s]
    if not rows:
        return "not checked", f"Needs a source row (one of {_named(PHOTOS_D + SYNTHETIC_D)})."
    gains = {k: mean(s, k, taps) - mean(s, "gaussian", taps) for k in rows}
    verdicts = [compare(g, margin) for g in gains.values()]
    verdict = FAILS if FAILS in verdicts else HOLDS if all(v == HOLDS for v in verdicts) else UNSURE
    return verdict, "Over pure Gaussian noise: " + ", ".join(f"({k}) {g:+.1f}" for k, g in gains.items()) + "."


def _dataset_upper_bound(s, taps, margin):
    best = _best(s, (*PHOTOS_D, *SYNTHETIC_D), taps)
    if best is None:
        return "not checked", f"Needs a source row (one of {_named(PHOTOS_D + SYNTHETIC_D)})."
    diff = mean(s, "dataset", taps) - mean(s, best, taps)
    return compare(diff, margin), f"The training images {mean(s, 'dataset', taps):.1f} against the best single source ({best}) {mean(s, best, taps):.1f} ({diff:+.1f})."


DISTILL_CLAIMS = (
    Claim(f"One image (Image B) recovers at least {TARGET_SHARE:.0%} of the teacher's accuracy:", ("teacher", "image_b"),
          _recovers_teacher),
    Claim("A photograph teaches the student more than any synthetic source:", (), _photo_beats_synthetic_d),
    Claim("Every source teaches more than pure Gaussian noise:", ("gaussian",), _beats_gaussian),
    Claim("The real training images teach more than any single source:", ("dataset",), _dataset_upper_bound),
)

# ---- Table M (ours): every method from Image B at equal CPU-minutes ----
def _joint_embedding_beats_2019(s, taps, margin):
    je, old = _best(s, JOINT_EMBEDDING, taps), _best(s, METHODS_2019, taps)
    if je is None or old is None:
        return "not checked", f"Needs a joint-embedding row (one of {_named(JOINT_EMBEDDING)}) and a 2019 row (one of {_named(METHODS_2019)})."
    diff = mean(s, je, taps) - mean(s, old, taps)
    order = sorted((k for k in (*JOINT_EMBEDDING, *METHODS_2019) if k in s), key=lambda k: -mean(s, k, taps))
    minutes = {k: s[k]["minutes"] for k in order}
    return compare(diff, margin), (f"Best joint-embedding ({je}) {mean(s, je, taps):.1f}, best 2019 method ({old}) "
                                   f"{mean(s, old, taps):.1f} ({diff:+.1f}), on average over the layers. The order: " + ", ".join(
        f"({k}) {mean(s, k, taps):.1f}" + ("" if minutes[k] is None else f" in {minutes[k]:.0f} CPU-min") for k in order) + ".")


def _one_image_matches_supervised_early(s, taps, margin):
    early = taps[:2]
    best = _best(s, (*JOINT_EMBEDDING, *METHODS_2019), early)
    if best is None:
        return "not checked", f"Needs a single-image row (one of {_named(JOINT_EMBEDDING + METHODS_2019)})."
    gaps = [s[best]["mean"][t] - s["supervised"]["mean"][t] for t in early]
    verdict = HOLDS if all(g >= -margin for g in gaps) else FAILS
    return verdict, (f"Best single-image trunk at {'–'.join(early)} {fmt(s, best, early)} against {fmt(s, 'supervised', early)}"
                     f" at equal CPU-minutes: " + " / ".join(f"{g:+.1f}" for g in gaps) + ".")


METHODS_CLAIMS = (
    Claim("Every method learns from one image: each beats its own random trunk:", ("random",),
          _beat_random(MATCHING_RANDOM, fallback="random")),
    Claim("A joint-embedding method (SimCLR or DINO) learns more from one image than every 2019 method:", (),
          _joint_embedding_beats_2019),
    Claim("At equal CPU-minutes, a single-image trunk matches the supervised one at conv1 and conv2:", ("supervised",),
          _one_image_matches_supervised_early),
)

TABLE2_PAIRS = (("d", ("e", "f")), ("i", ("j", "k")), ("n", ("o", "p")))

CLAIMS: dict[str, tuple[Claim, ...]] = {
    "table1": (
        Claim("Without augmentation, one image teaches no more than random weights:", ("b", "c"), _no_aug_like_random),
        Claim("Every augmentation on its own helps:", ("c", "d", "e", "f"), _every_aug_helps),
        Claim("Scale is the strongest single augmentation:", ("d", "e", "f"), _scale_strongest),
        Claim("All three augmentations together do best:", ("j",), _all_best),
    ),
    "table2": (
        Claim("One image matches the full dataset at conv1–conv2, for every method:", ("d", "e", "f", "i", "j", "k", "n", "o", "p"),
              _mono_matches_million(TABLE2_PAIRS), partial=True),
        Claim("The gap to the full dataset grows with depth:", ("d", "e", "f", "i", "j", "k", "n", "o", "p"), _mono_gap_grows(TABLE2_PAIRS)),
        Claim("Every single-image trunk beats random:", ("b", "e", "f", "j", "k", "o", "p"),
              _beat_random({"e": "lk", "f": "lk", "j": "rs", "k": "rs", "o": "sb", "p": "sb"}), partial=True),
    ),
    "table3": (
        Claim("The single image matches or beats full supervision at conv1:", ("a", "e"), _matches_supervised_conv1("e", "a")),
        Claim("The gap to full supervision grows with depth:", ("a", "e"), _gap_grows("e", "a")),
        Claim("The single image rivals the whole dataset (GAN on CIFAR-10) at conv1–conv2:", ("d", "e"), _rivals_dataset("e", "d")),
        Claim("Every self-supervised trunk beats random:", ("b", "c", "d", "e"), _beat_random({"c": "b", "d": "rc", "e": "rc"})),
    ),
    "sources": (
        Claim("A natural image beats every synthetic source at conv1–conv3:", (), _natural_beats_synthetic),
        Claim("A synthetic source, no photograph at all, beats random weights:", (), _synthetic_beats_random),
        Claim("The paper's images are not special: another photograph teaches as much:", (), _paper_images_not_special),
    ),
    "distill": DISTILL_CLAIMS,
    "distill-cifar100": DISTILL_CLAIMS,
    "methods": METHODS_CLAIMS,
    "table4": (
        Claim("The single image matches or beats full supervision at conv1:", ("a", "f"), _matches_supervised_conv1("f", "a")),
        Claim("The gap to full supervision grows with depth:", ("a", "f"), _gap_grows("f", "a")),
        Claim("The single image rivals the whole dataset (GAN on CIFAR-100) at conv1–conv2:", ("d", "f"), _rivals_dataset("f", "d")),
        Claim("Every self-supervised trunk beats random:", ("b", "c", "d", "e", "f"), _beat_random({"c": "b", "d": "b", "e": "b", "f": "b"})),
    ),
}
