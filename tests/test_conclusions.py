"""The claims each report checks: verdicts follow the numbers and the noise margin."""
import math

import pytest

from monossl.reproduce.conclusions import CLAIMS, FAILS, HOLDS, UNSURE, noise_margin
from monossl.reproduce.paper import TABLES
from monossl.reproduce.report import comparable
from monossl.reproduce.results import TableResults

TAPS = ("conv1", "conv2", "conv3", "conv4")


def row(*values, std=0.0, n=1):
    return {"mean": dict(zip(TAPS, values)), "std": {t: std for t in TAPS}, "n": n, "classes": 10, "minutes": None}


def paper_like():
    """Table 1 shaped like the paper's own numbers."""
    return {k: row(*p) for k, p in ((r.key, r.paper) for r in TABLES["table1"].rows if r.paper)}


def verdicts(table, summary, margin=1.0):
    return [c.check(summary, TAPS, margin)[0] for c in CLAIMS[table]]


def test_the_papers_own_table1_satisfies_its_claims():
    assert verdicts("table1", paper_like()) == [HOLDS] * 4


def test_table1_claims_fail_when_the_numbers_say_otherwise():
    s = paper_like()
    s["c"] = row(65, 65, 65, 60)  # no augmentation far above random
    s["d"] = row(70, 70, 70, 70)  # jitter beats scale and all
    got = verdicts("table1", s)
    assert got[0] == FAILS and got[2] == FAILS and got[3] == FAILS


def test_small_differences_are_inconclusive():
    s = paper_like()
    s["f"] = row(*(v + 0.3 for v in s["e"]["mean"].values()))  # scale a hair above rotation
    s["d"] = row(0, 0, 0, 0)
    assert CLAIMS["table1"][2].check(s, TAPS, 1.0)[0] == UNSURE
    assert CLAIMS["table1"][2].check(s, TAPS, 0.1)[0] == HOLDS


def test_all_best_says_when_its_lead_is_within_the_noise():
    s = paper_like()
    s["i"] = row(*(v - 0.2 for v in s["j"]["mean"].values()))  # (j) first by a hair
    verdict, evidence = CLAIMS["table1"][3].check(s, TAPS, 1.0)
    assert verdict == HOLDS and "within the noise margin" in evidence and "(+0.2)" in evidence
    s["i"] = row(*(v - 2 for v in s["j"]["mean"].values()))  # a clear lead says nothing of noise
    assert "noise" not in CLAIMS["table1"][3].check(s, TAPS, 1.0)[1]


def test_table2_judges_every_method_claims_on_the_rows_that_ran():
    taps = ("conv1", "conv2", "conv3", "conv4", "conv5")
    r5 = lambda *v, n=1: {"mean": dict(zip(taps, v)), "std": {}, "n": n}  # noqa: E731
    s = {"b": r5(55, 58, 56, 55, 55), "rs": r5(54, 58, 55, 54, 53), "i": r5(55, 59, 57, 55, 53),
         "j": r5(56, 61, 59, 57, 56)}
    verdict, evidence = CLAIMS["table2"][0].check(s, taps, 2.0)
    assert verdict == "not checked" and "(d)" in evidence and "So far (holds)" in evidence and "(j) against (i)" in evidence
    verdict, evidence = CLAIMS["table2"][2].check(s, taps, 2.0)
    assert verdict == "not checked" and "(j) +" in evidence  # RotNet over its start, the others not run
    s["o"] = r5(49, 57, 54, 50, 45)  # DeepCluster mono 4.8 points under random: "every" fails whatever is missing
    verdict, evidence = CLAIMS["table2"][2].check(s, taps, 2.0)
    assert verdict == FAILS and "(o) -4.8 against (b)" in evidence and "have not run" in evidence
    assert CLAIMS["table2"][1].check(s, taps, 2.0)[0] == "not checked"  # the gap's growth waits for every pair
    s["sb"] = r5(50, 55, 52, 49, 44)  # DeepCluster's own random start (behind Sobel) is what it is held against
    assert "(o) +1.0 against (sb)" in CLAIMS["table2"][2].check(s, taps, 2.0)[1]
    s["e"] = r5(53, 57, 53, 52, 50)  # BiGAN: against (b) until its own start (LeakyReLU) has run
    assert "(e) -2.8 against (b)" in CLAIMS["table2"][2].check(s, taps, 2.0)[1]
    s["lk"] = r5(56, 60, 59, 57, 56)
    assert "(e) -4.6 against (lk)" in CLAIMS["table2"][2].check(s, taps, 2.0)[1]
    s = {"j": s["j"]}  # no random row at all: nothing to judge against
    assert CLAIMS["table2"][2].check(s, taps, 2.0)[0] == "not checked"


def test_missing_rows_are_not_checked():
    verdict, evidence = CLAIMS["table3"][0].check({"a": row(1, 2, 3, 4)}, TAPS, 1.0)
    assert verdict == "not checked" and "(e)" in evidence


def test_table3_paper_numbers_hold_and_gap_grows():
    s = {r.key: row(*r.paper) for r in TABLES["table3"].rows if r.paper}
    assert verdicts("table3", s) == [HOLDS] * 4
    s["e"] = row(60, 72, 72, 76)  # mono as good as supervised deep down: gap does not grow, conv1 far behind
    got = verdicts("table3", s)
    assert got[0] == FAILS and got[1] == FAILS


def test_noise_margin_pools_repeated_rows():
    margin, basis = noise_margin({"b": row(1, 1, 1, 1, std=0.5, n=3), "c": row(1, 1, 1, 1, std=1.0, n=2), "d": row(1, 1, 1, 1)}, TAPS)
    sigma = math.sqrt((2 * 4 * 0.25 + 1 * 4 * 1.0) / (2 * 4 + 1 * 4))
    assert margin == pytest.approx(2 * math.sqrt(2) * sigma) and "(b), (c)" in basis
    assert noise_margin({"b": row(1, 1, 1, 1)}, TAPS)[0] == 1.0  # no repeats: the rule of thumb
    assert noise_margin({"b": row(1, 1, 1, 1, std=0.01, n=2)}, TAPS)[0] == 1.0  # never below it


def test_summary_takes_mean_and_sample_std_over_seeds():
    results = TableResults("table1", "cpu", list(TAPS))
    results.record("b", 0, {t: 50.0 for t in TAPS}, classes=10)
    results.record("b", 1, {t: 52.0 for t in TAPS}, classes=10, cpu_minutes=3.0)
    s = results.summary()["b"]
    assert s["mean"]["conv1"] == 51.0 and s["std"]["conv1"] == pytest.approx(math.sqrt(2)) and s["n"] == 2
    assert s["minutes"] == 3.0 and s["classes"] == 10


def test_a_ten_class_folder_is_not_compared_with_imagenet():
    table2 = TABLES["table2"]
    assert not comparable(table2, {"b": {"classes": 10}})
    assert comparable(table2, {"b": {"classes": 1000}})
    assert comparable(TABLES["table1"], {"b": {"classes": 10}})


def test_trained_rows_are_held_against_their_matching_random_trunk():
    s = paper_like()
    s["c"] = row(61, 59, 56, 53)  # 2.7 above the ReLU random row, level with the random critic
    assert CLAIMS["table1"][0].check(s, TAPS, 1.0)[0] == FAILS
    s["rc"] = row(60.5, 58.5, 55.5, 52.5)
    verdict, evidence = CLAIMS["table1"][0].check(s, TAPS, 1.0)
    assert verdict == HOLDS and "(rc)" in evidence and "against (b)" in evidence


def subsets_of(keys: list[str], name: str, cap: int = 2048):
    """Every subset of the rows when there are at most `cap`, else 256 drawn with a fixed seed (and the two ends)."""
    from monossl.seeding import rng

    if 2 ** len(keys) <= cap:
        return [[k for i, k in enumerate(keys) if mask >> i & 1] for mask in range(2 ** len(keys))]
    draw = rng(0, "report-subsets", name)
    return [[], list(keys)] + [[k for k in keys if draw.random() < 0.5] for _ in range(256)]


@pytest.mark.parametrize("seeds", [1, 3])
@pytest.mark.parametrize("name", list(TABLES))
def test_every_subset_of_rows_renders_a_report_with_every_claim_judged_or_not_checked(name, seeds):
    import re

    from monossl.reproduce.report import PAPER_CLASSES, render_csv, render_markdown
    from monossl.reproduce.results import TableResults
    from monossl.seeding import rng

    table = TABLES[name]
    keys = [r.key for r in table.rows]
    draw = rng(seeds, "report-values", name)
    verdicts = (HOLDS, FAILS, UNSURE, "not checked")
    for subset in subsets_of(keys, name):
        results = TableResults(name, "cpu", list(table.columns))
        for key in subset:
            for seed in range(seeds):
                results.record(key, seed, {c: float(draw.uniform(40, 80)) for c in table.columns}, cpu_minutes=5.0,
                               classes=PAPER_CLASSES[table.probe_dataset])
        md = render_markdown(table, "cpu", results.summary(), results.checks)
        assert re.findall(r"^\| \((\w+)\) \|", md, re.M) == subset  # exactly the finished rows, in order
        claims = [line for line in md.splitlines() if line.startswith("- **")]
        assert len(claims) == len(CLAIMS.get(name, ()))
        for line in claims:
            verdict = next(v for v in verdicts if f":** {v}." in line)
            if verdict == "not checked":
                assert re.search(r"\(\w+\)", line.split(":** not checked.")[1]), line  # names the rows it needs
        assert len(render_csv(table, results.summary()).splitlines()) == len(keys) + 1


def test_table_m_claims_follow_the_numbers():
    s = {"random": row(58, 56, 53, 50), "sobel": row(50, 46, 42, 39), "rc": row(59, 58, 55, 54),
         "supervised": row(66, 72, 76, 78), "rotnet": row(62, 64, 62, 60), "simclr": row(64, 66, 63, 60),
         "monogan": row(63, 62, 59, 57)}
    (beat, beat_why), (je, je_why), (sup, sup_why) = (c.check(s, TAPS, 1.0) for c in CLAIMS["methods"])
    assert beat == HOLDS and "(monogan) +3.8 against (rc)" in beat_why and "(rotnet) +7.8 against (random)" in beat_why
    assert je == HOLDS and "(simclr) 63.2" in je_why and "(rotnet) 62.0 (+1.2)" in je_why  # means over the four layers
    assert je_why.index("(simclr)") < je_why.index("(rotnet)") < je_why.index("(monogan)", je_why.index("The order"))
    assert sup == FAILS and "-2.0 / -6.0" in sup_why  # the best at conv1-conv2 (simclr) against supervised
    s["dino"] = row(65.5, 71.2, 60, 55)  # within the margin of supervised at both early layers
    assert CLAIMS["methods"][2].check(s, TAPS, 1.0)[0] == HOLDS
    s["rc"] = row(63.5, 62.5, 59.5, 57.5)  # MonoGAN now level with its own random trunk
    assert CLAIMS["methods"][0].check(s, TAPS, 1.0)[0] == UNSURE
    del s["supervised"]
    assert CLAIMS["methods"][2].check(s, TAPS, 1.0)[0] == "not checked"


def test_table_m_runs_are_named_apart_from_the_same_rows_elsewhere():
    table1, methods = TABLES["table1"], TABLES["methods"]
    j = next(r for r in table1.rows if r.key == "j")
    monogan = next(r for r in methods.rows if r.key == "monogan")
    assert table1.run_id(j) == j.run_id("cifar") == "monogan_image_b_fjrs_cifar"  # earlier OUT folders keep their runs
    assert methods.run_id(monogan) == "monogan_image_b_fjrs_cifar_methods"
    assert {methods.run_id(r) for r in methods.rows} & {table1.run_id(r) for r in table1.rows} == set()


def test_a_note_shared_by_rows_is_printed_once_naming_them_all():
    from monossl.reproduce.report import render_markdown
    from monossl.reproduce.results import TableResults

    table = TABLES["table2"]
    results = TableResults("table2", "cpu", list(table.columns))
    for key in ("a", "d", "i", "sb"):
        results.record(key, 0, {c: 50.0 for c in table.columns}, cpu_minutes=1.0, classes=10)
    md = render_markdown(table, "cpu", results.summary())
    full = [line for line in md.splitlines() if "whole training split" in line]
    assert len(full) == 1 and full[0].startswith("- (a), (d), (i) trained on")
    assert sum(line.startswith("- (sb) ") for line in md.splitlines()) == 1
