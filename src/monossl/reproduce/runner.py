"""`monossl reproduce`: run a table's rows (pretraining, then probes) at a budget, and report.

Runs live in OUT/runs/RUN_ID and probe results in OUT/probes/RUN_ID.DATASET.json, named by what they
are (method, training data, augmentations, trunk), so rows shared between tables run once. A
finished run or probe is re-used; an interrupted one resumes. Reports: OUT/tableN.md, .csv and .png
(accuracy against depth, ours solid, the paper dashed), and OUT/index.md.

Budgets:
  smoke  a couple of minutes for a whole table on 2 cores (CI): tiny pretraining, probes on subsets;
  cpu    meaningful on a 2-core laptop, ~20 CPU-minutes a row: narrow GAN generator, short schedules,
         MonoGAN with the faster-learning recipe measured below (BUDGETS), full probes (36 epochs, whole CIFAR);
  paper  the paper's settings, for a GPU: d = 50,000 patches at S = 32 for CIFAR rows (1,281,167 at
         S = 256 for ImageNet rows), each method's published schedule (see BUDGETS).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from monossl.errors import UserError
from monossl.data.inputs import TrainInput
from monossl.data.paper_images import paper_image
from monossl.data.sampler import AugmentConfig
from monossl.methods import pretrain
from monossl.methods.engine import PretrainConfig
from monossl.probes import PRESETS, run_probe
from monossl.reproduce.paper import TABLES, Row, Table
from monossl.reproduce.report import write_index, write_report
from monossl.rundir import read_json


@dataclass(frozen=True)
class MethodBudget:
    count: int
    epochs: int
    batch_size: int
    hparams: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Budget:
    name: str
    methods: dict[str, MethodBudget]
    probe_epochs: int = 36
    probe_train_limit: int | None = None
    probe_test_limit: int | None = None
    size_imagenet: int = 256


BUDGETS = {
    "smoke": Budget("smoke", {
        "monogan": MethodBudget(256, 1, 32, {"gen_dim": 16}),
        "rotnet": MethodBudget(256, 1, 32),
        "deepcluster": MethodBudget(256, 1, 32, {"k": 10, "hidden": 128}),
        "bigan": MethodBudget(256, 1, 32, {"gen_dim": 16}),
        "supervised": MethodBudget(0, 1, 64),
    }, probe_epochs=2, probe_train_limit=1000, probe_test_limit=500, size_imagenet=128),
    "cpu": Budget("cpu", {
        # MonoGAN at ~19 CPU-minutes: betas (0, 0.9) as the WGAN-GP authors' own CIFAR ResNet recipe, with their
        # lr 2e-4 doubled, and a generator that cannot draw checkerboards (nearest x2 + 3x3 conv).
        # Full probes, Image B, all augmentations (README, "What one image teaches"): the paper's recipe
        # 61.5/62.1/58.4/56.2; lr 4e-4 betas (0, 0.9) 61.7/64.1/59.9/59.4; plus resize-conv 63.8/64.5/61.5/59.4.
        "monogan": MethodBudget(12800, 7, 32, {"gen_dim": 32, "lr": 4e-4, "beta1": 0.0, "beta2": 0.9, "upsample": "resize"}),
        "rotnet": MethodBudget(25600, 5, 128),
        "deepcluster": MethodBudget(20000, 15, 128, {"k": 100}),
        "bigan": MethodBudget(12800, 8, 64, {"gen_dim": 32}),
        "supervised": MethodBudget(0, 10, 128),
    }, size_imagenet=128),
    "paper": Budget("paper", {
        # WGAN-GP: 100k generator steps of 64 with 5 critic steps = 640 passes over d = 50,000
        "monogan": MethodBudget(50000, 640, 64),
        # RotNet: 100 epochs on CIFAR (30 on ImageNet), batch 128 (192 on ImageNet)
        "rotnet": MethodBudget(50000, 100, 128),
        # DeepCluster: 500 epochs on ImageNet, batch 256, k = 1000 (§3.2)
        "deepcluster": MethodBudget(50000, 500, 256),
        # BiGAN: 100 epochs, batch 128
        "bigan": MethodBudget(50000, 100, 128),
        "supervised": MethodBudget(0, 100, 128),
    }),
}



def source_for(row: Row, table: Table, images_dir: str | None, imagenet: str | None, data_root: str | None) -> dict:
    """The pretraining input of a row: on-the-fly sources, or a whole dataset."""
    if row.train in ("image_a", "image_b"):
        return {"sources": (str(paper_image(row.train, images_dir, data_root)),)}
    if row.train in ("deka", "kilo"):
        n = 10 if row.train == "deka" else 1000
        if table.probe_dataset == "imagenet":
            return {"sources": (f"folder:{Path(imagenet) / 'train'}:{n}",)}
        return {"sources": (f"cifar10:{n}",)}
    if row.train == "imagenet":
        return {"folder": str(Path(imagenet) / "train")}
    return {"dataset": row.train}


def run_row(row: Row, table: Table, budget: Budget, out: Path, data_root: str | None, imagenet: str | None,
            images_dir: str | None, device: str, workers: int) -> dict:
    """Pretrain (if the row needs it) and probe one row; both steps re-use or resume earlier work."""
    run_id = row.run_id(table.arch)
    probe_out = out / "probes" / f"{run_id}.{table.probe_dataset}.json"
    if probe_out.exists():
        return read_json(probe_out)["taps"]
    if row.kind == "pretrain":
        mb = budget.methods[row.method]
        size = 32 if table.arch == "cifar" else budget.size_imagenet
        run_dir = out / "runs" / run_id
        train_input = TrainInput(count=max(mb.count, 1), augment=AugmentConfig(size=size, **row.augment), data_root=data_root,
                                 **source_for(row, table, images_dir, imagenet, data_root))
        config = PretrainConfig(method=row.method, out=str(run_dir), input=train_input, arch=table.arch, epochs=mb.epochs,
                                batch_size=mb.batch_size, device=device, workers=workers, hparams=dict(mb.hparams))
        pretrain(config, resume=(run_dir / "config.json").exists())
        trunk_spec = str(run_dir)
    else:
        trunk_spec = row.kind
    config = replace(PRESETS["paper"], epochs=budget.probe_epochs, train_limit=budget.probe_train_limit,
                     test_limit=budget.probe_test_limit)
    dataset = table.probe_dataset if table.probe_dataset != "imagenet" else \
        f"folder:{Path(imagenet) / 'train'},{Path(imagenet) / 'val'}"
    result = run_probe(trunk_spec, dataset, probe_out, arch=table.arch, data_root=data_root, taps=list(table.taps),
                       config=config, resume=True, workers=workers)  # re-use, resume, or run
    return result.taps


def reproduce(table_name: str, budget_name: str, out: str | Path, data_root: str | None = None, imagenet: str | None = None,
              rows: list[str] | None = None, device: str = "auto", workers: int = 2, images_dir: str | None = None) -> Path:
    """Run the selected rows of a table and write OUT/tableN.{md,csv,png} and OUT/index.md."""
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
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for row in table.rows:
        if row.key not in wanted:
            continue
        print(f"[{table_name}] row ({row.key}) {row.label}", file=sys.stderr, flush=True)
        results[row.key] = run_row(row, table, budget, out, data_root, imagenet, images_dir, device, workers)
        write_report(table, budget, results, out)
    write_index(out)
    return out / f"{table_name}.md"
