"""`monossl reproduce`: run a table's rows (pretraining, then probes) at a budget, and report.

Runs live in OUT/runs/RUN_ID and probe results in OUT/probes/RUN_ID.DATASET.json, named by what they
are (method, training data, augmentations, trunk), so rows shared between tables run once. A
finished run or probe is re-used; an interrupted one resumes. OUT/budget.json records the budget
they were made at, so one OUT never mixes two budgets, or two definitions of one. Reports: OUT/tableN.md, .csv and .png
(accuracy against depth, ours solid, the paper dashed), and OUT/index.md.

Budgets:
  smoke  a couple of minutes for a whole table on 2 cores (CI): tiny pretraining, probes on subsets;
  cpu    meaningful on a 2-core laptop, 5-20 CPU-minutes of training a row (the supervised reference ~50): narrow GAN
         generator, short schedules, MonoGAN with the faster-learning recipe measured below (BUDGETS), RotNet and
         supervised at lr 0.1 after a warm-up, full probes (36 epochs, whole CIFAR);
  paper  the paper's settings, for a GPU: d = 50,000 patches at S = 32 for CIFAR rows (1,281,167 at
         S = 256 for ImageNet rows), each method's published schedule (see BUDGETS).
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from monossl.errors import UserError
from monossl.data.inputs import TrainInput
from monossl.data.paper_images import paper_image
from monossl.data.sampler import AugmentConfig
from monossl.methods import pretrain
from monossl.methods.engine import PretrainConfig
from monossl.nets.registry import critic_baseline
from monossl.probes import PRESETS, run_probe
from monossl.reproduce.paper import TABLES, Row, Table
from monossl.reproduce.report import published, summarise, write_index, write_report
from monossl.rundir import MetricsLog, read_json, write_json
from monossl.seeding import check_seeds


@dataclass(frozen=True)
class MethodBudget:
    count: int
    epochs: int
    batch_size: int
    hparams: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Protocol:
    """What a budget does on one family of tables: CIFAR (Tables 1, 3, 4: the CIFAR trunk at S = 32) or
    ImageNet (Table 2: AlexNet on an image folder)."""
    methods: dict[str, MethodBudget]
    size: int = 32  # training patch side S (AlexNets train on 224/256 crops of it)
    probe_epochs: int = 36
    probe_train_limit: int | None = None  # a seeded subset with an equal share per class; None: all
    probe_test_limit: int | None = None
    probe_crop: int | None = None  # folder probes' input side; None: the trunk's own (224 for AlexNet)


@dataclass(frozen=True)
class Budget:
    name: str
    cifar: Protocol
    imagenet: Protocol

    def protocol(self, table: Table) -> Protocol:
        return self.imagenet if table.probe_dataset == "imagenet" else self.cifar


SMOKE_METHODS = {
    "monogan": MethodBudget(256, 1, 32, {"gen_dim": 16}),
    "rotnet": MethodBudget(256, 1, 32),
    "deepcluster": MethodBudget(256, 1, 32, {"k": 10, "hidden": 128}),
    "bigan": MethodBudget(256, 1, 32, {"gen_dim": 16}),
    "supervised": MethodBudget(0, 1, 64),
}

# RotNet's CIFAR rate, lr 0.1 (its NIN's; the method default 0.01 is its AlexNet's), after a linear warm-up that the
# CIFAR trunk's linear head needs (0.1 without it wrecks the trunk). At the `cpu` budget, full probes: Table 3 (c),
# RotNet on CIFAR-10, +2.0 / +3.8 / +4.8 / +4.6 over 0.01; on Image B +1.7 / +1.8 / +1.8 / -0.7 (two seeds). The
# supervised row likewise, with one epoch of warm-up (README, "RotNet's learning rate", "The supervised row").
ROTNET_CIFAR = {"lr": 0.1, "warmup": 0.5}
SUPERVISED_CIFAR = {"lr": 0.1, "warmup": 1}

BUDGETS = {
    "smoke": Budget(
        "smoke",
        Protocol(SMOKE_METHODS, probe_epochs=2, probe_train_limit=1000, probe_test_limit=500),
        Protocol(SMOKE_METHODS, size=128, probe_epochs=2, probe_train_limit=200, probe_test_limit=100, probe_crop=112)),
    "cpu": Budget(
        "cpu",
        Protocol({
            # MonoGAN: betas (0, 0.9) as the WGAN-GP authors' own CIFAR ResNet recipe, with their lr 2e-4 doubled, and a
            # generator that cannot draw checkerboards (nearest x2 + 3x3 conv). Full probes, Image B, all augmentations
            # (README, "What one image teaches"), 7 epochs: the paper's recipe 61.5/62.1/58.4/56.2; lr 4e-4 betas (0, 0.9)
            # 61.7/64.1/59.9/59.4; plus resize-conv 63.8/64.5/61.5/59.4 (19.3 CPU-min). Its epoch-2 snapshot (5.5 CPU-min)
            # reads 63.6/64.1/61.2/58.9, within 0.5 at every layer: 2 epochs teach as much, at 3.5x less compute.
            # The critic's conv1 starts spatially smooth (critic_init "smooth"): conv1 +1.3 to +1.9 over the rerun baseline
            # in six screens (full probe, 2026-12-03); over Table 1's eight MonoGAN rows +0.8 on average, (j) +1.2 over two
            # seeds each, conv2-conv4 without a consistent change; its random critic probes as the plain one at conv1
            # (59.0 vs 58.9) (README, "A smooth start for conv1").
            "monogan": MethodBudget(12800, 2, 32, {"gen_dim": 32, "lr": 4e-4, "beta1": 0.0, "beta2": 0.9, "upsample": "resize",
                                                   "critic_init": "smooth"}),
            "rotnet": MethodBudget(25600, 5, 128, ROTNET_CIFAR),
            "deepcluster": MethodBudget(20000, 15, 128, {"k": 100}),
            "bigan": MethodBudget(12800, 8, 64, {"gen_dim": 32}),
            "supervised": MethodBudget(0, 30, 128, SUPERVISED_CIFAR),
        }),
        # Table 2's stand-in, not the paper's protocol: AlexNet on 112-px crops of S = 128; probes on at most 4,000
        # training and 500 validation images of a small folder (e.g. 10 classes). Rates measured single-thread on the
        # 2-core machine: RotNet 57 rotated images/s, DeepCluster 32 images/s (clustering included), BiGAN 7 images/s,
        # folder probe 156 images/s an epoch; so each row's training is 13-15 CPU-min and its probe ~15 (README,
        # "Table 2 on a laptop"): about 30 minutes a row.
        Protocol({
            "rotnet": MethodBudget(3000, 4, 64),
            "deepcluster": MethodBudget(5000, 5, 64, {"k": 50}),
            "bigan": MethodBudget(3000, 2, 32, {"gen_dim": 32}),
            "supervised": MethodBudget(0, 10, 64),
        }, size=128, probe_train_limit=4000, probe_test_limit=500, probe_crop=112)),
    "paper": Budget(
        "paper",
        Protocol({
            # WGAN-GP: 100k generator steps of 64 with 5 critic steps = 640 passes over d = 50,000
            "monogan": MethodBudget(50000, 640, 64),
            # RotNet: 100 epochs on CIFAR, batch 128
            "rotnet": MethodBudget(50000, 100, 128, ROTNET_CIFAR),
            "deepcluster": MethodBudget(50000, 500, 256),
            # BiGAN: 100 epochs, batch 128
            "bigan": MethodBudget(50000, 100, 128),
            "supervised": MethodBudget(0, 100, 128, SUPERVISED_CIFAR),
        }),
        Protocol({
            # §3.2: d = 1,281,167 patches at S = 256 (ImageNet's size); RotNet 30 epochs of 192,
            # DeepCluster 500 epochs of 256 with k = 1000, BiGAN 100 epochs of 128
            "rotnet": MethodBudget(1281167, 30, 192),
            "deepcluster": MethodBudget(1281167, 500, 256),
            "bigan": MethodBudget(1281167, 100, 128),
            "supervised": MethodBudget(0, 90, 256),
        }, size=256)),
}


def source_for(row: Row, table: Table, images_dir: str | None, imagenet: str | None, data_root: str | None) -> dict:
    """The pretraining input of a row: on-the-fly sources, or a whole dataset."""
    if row.train in ("image_a", "image_b"):
        return {"sources": (str(paper_image(row.train, images_dir, data_root)),)}
    if row.train.startswith(("synthetic:", "skimage:")):
        return {"sources": (row.train,)}
    if row.train in ("deka", "kilo"):
        n = 10 if row.train == "deka" else 1000
        if table.probe_dataset == "imagenet":
            return {"sources": (f"folder:{Path(imagenet) / 'train'}:{n}",)}
        return {"sources": (f"cifar10:{n}",)}
    if row.train == "imagenet":
        return {"folder": str(Path(imagenet) / "train")}
    return {"dataset": row.train}


def seeded_id(run_id: str, seed: int) -> str:
    """Seed 0 keeps the plain name (the runs of earlier releases); other seeds add `_sN`."""
    return run_id if seed == 0 else f"{run_id}_s{seed}"


def run_row(row: Row, table: Table, budget: Budget, out: Path, data_root: str | None, imagenet: str | None,
            images_dir: str | None, device: str, workers: int, seed: int = 0) -> dict:
    """Pretrain (if the row needs it) and probe one row at one seed; both steps re-use or resume earlier
    work. The seed draws the pretraining (or the baseline trunk) and the probe's initialisation and order."""
    run_id = seeded_id(row.run_id(table.arch), seed)
    probe_out = out / "probes" / f"{run_id}.{table.probe_dataset}.json"
    if probe_out.exists():
        return read_json(probe_out)["taps"]
    protocol = budget.protocol(table)
    if row.kind == "pretrain":
        mb = protocol.methods[row.method]
        size = protocol.size
        run_dir = out / "runs" / run_id
        train_input = TrainInput(count=max(mb.count, 1), augment=AugmentConfig(size=size, **row.augment), data_root=data_root,
                                 **source_for(row, table, images_dir, imagenet, data_root))
        config = PretrainConfig(method=row.method, out=str(run_dir), input=train_input, arch=table.arch,
                                epochs=epochs_for(mb, train_input, row.method),
                                batch_size=mb.batch_size, device=device, workers=workers, hparams=dict(mb.hparams), seed=seed)
        pretrain(config, resume=(run_dir / "config.json").exists())
        trunk_spec = str(run_dir)
    else:
        trunk_spec = baseline_spec(row, protocol)
    config = replace(PRESETS["paper"], epochs=protocol.probe_epochs, train_limit=protocol.probe_train_limit,
                     test_limit=protocol.probe_test_limit, crop=protocol.probe_crop, seed=seed)
    dataset = table.probe_dataset if table.probe_dataset != "imagenet" else \
        f"folder:{Path(imagenet) / 'train'},{Path(imagenet) / 'val'}"
    result = run_probe(trunk_spec, dataset, probe_out, arch=table.arch, data_root=data_root, taps=list(table.taps),
                       config=config, resume=True, workers=workers)  # re-use, resume, or run
    return result.taps


def settings(tree, prefix: str = "") -> dict[str, object]:
    """A budget's settings as flat dotted keys (`cifar.methods.monogan.hparams.lr`), JSON values."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    return {k: v for key, sub in tree.items() for k, v in settings(sub, f"{prefix}.{key}" if prefix else str(key)).items()}


def check_budget(out: Path, budget: Budget) -> None:
    """Refuse an OUT whose runs and probes were made at another budget, or at an earlier definition of
    this one (finished rows are re-used without re-running, so they would be reported as this budget's);
    record the budget in a new OUT."""
    path, now = out / "budget.json", settings(json.loads(json.dumps(asdict(budget))))
    if not path.exists():
        write_json(path, now)
        return
    made = read_json(path)
    if made.get("name") != budget.name:
        raise UserError(f"--out {out}: its rows were made at the {made.get('name')} budget; "
                        f"pass --budget {made.get('name')} or a fresh --out")
    changed = sorted(k for k in made.keys() | now.keys() if made.get(k) != now.get(k))
    if changed:
        raise UserError(f"--out {out}: its rows were made at an earlier definition of the {budget.name} budget "
                        f"({', '.join(changed[:3])}{' ...' if len(changed) > 3 else ''} changed); pass a fresh --out "
                        f"(copy its tableN.md and .csv in to keep the rows it published)")


def baseline_spec(row: Row, protocol: Protocol) -> str:
    """The trunk of a baseline row: `random-critic` rows are MonoGAN's critic at the init the protocol's MonoGAN
    starts from (`random-critic-smooth` where it draws conv1 smooth), so they stay the trained rows' own random trunk."""
    if row.kind != "random-critic" or "monogan" not in protocol.methods:
        return row.kind
    return critic_baseline(protocol.methods["monogan"].hparams.get("critic_init", "deepcluster"))


def epochs_for(mb: MethodBudget, train_input: TrainInput, method: str) -> int:
    """A whole-dataset row sees as many training images as a single-image row of the same method
    (epochs x count patches), at least one pass; sources and supervised rows keep their epochs."""
    if train_input.kind == "sources" or method == "supervised" or not mb.count:
        return mb.epochs
    size = train_input.length()
    return max(1, round(mb.epochs * mb.count / size)) if size else mb.epochs


def collect(table: Table, out: Path) -> dict[str, dict]:
    """Every finished seed of every row of `table` found under OUT (whichever command ran it):
    row key -> {"seeds": {seed: taps}, "cpu_minutes": [training CPU-minutes per seed], "classes": n}."""
    found: dict[str, dict] = {}
    for row in table.rows:
        run_id = row.run_id(table.arch)
        pattern = re.compile(rf"^{re.escape(run_id)}(?:_s(\d+))?\.{table.probe_dataset}\.json$")
        for path in sorted((out / "probes").glob(f"{run_id}*.{table.probe_dataset}.json")):
            match = pattern.match(path.name)
            if not match:
                continue
            seed = int(match.group(1) or 0)
            result = read_json(path)
            entry = found.setdefault(row.key, {"seeds": {}, "cpu_minutes": [], "classes": None})
            entry["seeds"][seed] = result["taps"]
            entry["classes"] = result.get("protocol", {}).get("classes")
            minutes = training_minutes(out / "runs" / seeded_id(run_id, seed)) if row.kind == "pretrain" else None
            if minutes is not None:
                entry["cpu_minutes"].append(minutes)
    return found


def rank_check(table: Table, summary: dict, images_dir: str | None, data_root: str | None) -> list[str]:
    """Table S only: `monossl rank`'s score of each trained source (rows of `summary`) against its conv2
    probe (Spearman)."""
    if table.name != "sources":
        return []
    from monossl.rank import validate

    specs = {r.key: (str(paper_image(r.train, images_dir, data_root)) if r.train in ("image_a", "image_b") else r.train)
             for r in table.rows if r.kind == "pretrain" and r.key in summary}
    if len(specs) < 3:
        return []
    check = validate(specs, {k: summary[k]["mean"]["conv2"] for k in specs})
    lines = ["## `monossl rank` against the probes", "",
             f"Spearman correlation between `monossl rank`'s score and the conv2 probe over the {check['n']} trained "
             f"sources: **{check['spearman']:+.2f}** (the goal is at least +0.6; one-sided permutation p = "
             f"{check['p_value']:.3f}: the share of random pairings that correlate as well).", "",
             "| source | rank score | conv2 top-1 |", "|---|---|---|"]
    for key in sorted(specs, key=lambda k: -check["scores"][k]):
        lines.append(f"| ({key}) | {check['scores'][key]:.4f} | {check['probed'][key]:.1f} |")
    return lines + [""]


def training_minutes(run_dir: Path) -> float | None:
    """CPU-minutes the run's training took (its last epoch record), None when unknown."""
    epochs = [r for r in MetricsLog(run_dir / "metrics.jsonl").records() if r.get("kind") == "epoch"]
    return epochs[-1].get("cpu_minutes") if epochs else None


def table_summary(table: Table, budget: Budget, out: Path) -> dict[str, dict]:
    """Every row to report: the probe results under OUT (`collect`), over the rows the previous report in
    OUT published at this budget (`published`), which stay when their run folders are gone."""
    return {**published(table, budget.name, out), **summarise(collect(table, out), table.taps)}


def reproduce(table_name: str, budget_name: str, out: str | Path, data_root: str | None = None, imagenet: str | None = None,
              rows: list[str] | None = None, device: str = "auto", workers: int = 2, images_dir: str | None = None,
              seeds: list[int] | None = None) -> Path:
    """Run the selected rows of a table at each seed (default 0) and write OUT/tableN.{md,csv,png} and
    OUT/index.md. The report shows every finished row under OUT, also those another command ran (rows
    can run in parallel processes), with the mean and spread over the seeds found."""
    if table_name not in TABLES:
        raise UserError(f"{table_name}: choose one of {', '.join(TABLES)}")
    if budget_name not in BUDGETS:
        raise UserError(f"--budget {budget_name}: choose one of {', '.join(BUDGETS)}")
    table, budget = TABLES[table_name], BUDGETS[budget_name]
    if table.probe_dataset == "imagenet" and not imagenet:
        raise UserError("table2 probes on ImageNet: pass --imagenet DIR holding train/ and val/ class folders")
    if imagenet and not (Path(imagenet) / "train").is_dir():
        raise UserError(f"--imagenet {imagenet}: no train/ folder inside; point it at the ImageNet root")
    keys = [r.key for r in table.rows]
    wanted = rows or keys
    unknown = [k for k in wanted if k not in keys]
    if unknown:
        raise UserError(f"--rows {','.join(unknown)}: {table_name} has rows {','.join(keys)}")
    seeds = check_seeds(list(seeds) if seeds else [0])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    check_budget(out, budget)
    for row in table.rows:
        if row.key not in wanted:
            continue
        for seed in seeds:
            print(f"[{table_name}] row ({row.key}) {row.label}, seed {seed}", file=sys.stderr, flush=True)
            run_row(row, table, budget, out, data_root, imagenet, images_dir, device, workers, seed)
            write_report(table, budget, table_summary(table, budget, out), out)
    summary = table_summary(table, budget, out)
    write_report(table, budget, summary, out, rank_check(table, summary, images_dir, data_root))
    write_index(out)
    return out / f"{table_name}.md"
