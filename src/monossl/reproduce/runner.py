"""`monossl reproduce`: run a table's rows (pretraining, then probes) at a budget, and report.

Runs live in OUT/runs/RUN_ID and probe results in OUT/probes/RUN_ID.DATASET.json, named by what they
are (method, training data, augmentations, trunk), so rows shared between tables run once. A
finished run or probe is re-used; an interrupted one resumes. OUT/budget.json records the budget
they were made at, so one OUT never mixes two budgets, or two definitions of one (`check_budget`).
Each table's numbers are collected into OUT/tableN.json (`monossl.reproduce.results`), from which the
reports are rendered (`monossl.reproduce.report`). The budgets live in `monossl.reproduce.budgets`.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, replace
from pathlib import Path

from monossl.errors import UserError
from monossl.provenance import made_by
from monossl.data.inputs import TrainInput
from monossl.data.paper_images import paper_image
from monossl.data.specs import SourceSpec
from monossl.data.sampler import AugmentConfig
from monossl.methods import pretrain
from monossl.methods.engine import PretrainConfig
from monossl.nets.registry import critic_baseline, trunk_baseline
from monossl.probes import KNN, PRESETS, read_result, run_probe
from monossl.reproduce.budgets import BUDGETS, Budget, MethodBudget, Protocol, family
from monossl.reproduce.paper import TABLES, Row, Table
from monossl.reproduce.report import write_index, write_report
from monossl.reproduce.results import TableResults
from monossl.rundir import MetricsLog, read_state, write_json
from monossl.seeding import check_seeds


def source_for(row: Row, table: Table, images_dir: str | None, imagenet: str | None, data_root: str | None) -> dict:
    """The pretraining input of a row: on-the-fly sources, or a whole dataset."""
    if row.train in ("image_a", "image_b"):
        return {"sources": (str(paper_image(row.train, images_dir, data_root)),)}
    if SourceSpec.parse(row.train).kind != "path":  # synthetic:KIND, skimage:NAME, ...
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
    """Pretrain (if the row needs it) and measure one row at one seed; both steps re-use or resume earlier
    work. The seed draws the pretraining (or the baseline trunk) and the probe's initialisation and order."""
    run_id = seeded_id(table.run_id(row), seed)
    probe_out = out / "probes" / f"{run_id}.{table.probe_dataset}.json"
    if probe_out.exists():
        return read_result(probe_out)["taps"]
    protocol = budget.protocol(table)
    common = dict(out=out, data_root=data_root, imagenet=imagenet, images_dir=images_dir, device=device, workers=workers)
    if table.measure == "classifier":
        return classifier_row(row, table, budget, probe_out, seed, **common)
    if row.kind == "pretrain":
        trunk_spec = str(train_row(row, table, protocol, seed=seed, **common))
    else:
        trunk_spec = baseline_spec(row, protocol)
    config = replace(PRESETS["paper"], epochs=protocol.probe_epochs, train_limit=protocol.probe_train_limit,
                     test_limit=protocol.probe_test_limit, crop=protocol.probe_crop, seed=seed,
                     folder_views=protocol.probe_folder_views or PRESETS["paper"].folder_views)
    dataset = table.probe_dataset if table.probe_dataset != "imagenet" else \
        f"folder:{Path(imagenet) / 'train'},{Path(imagenet) / 'val'}"
    result = run_probe(trunk_spec, dataset, probe_out, arch=table.arch, data_root=data_root, taps=list(table.taps),
                       config=config, resume=True, workers=workers, knn=knn_settings(table, protocol))  # re-use, resume, or run
    return result.taps


def knn_settings(table: Table, protocol: Protocol):
    """The weighted kNN a table probes with beside the linear probe (Table M), None for the others."""
    if not table.knn:
        return None
    return KNN() if protocol.probe_knn_k is None else KNN(k=protocol.probe_knn_k)


def train_row(row: Row, table: Table, protocol: Protocol, out: Path, data_root: str | None, imagenet: str | None,
              images_dir: str | None, device: str, workers: int, seed: int = 0, arch: str | None = None,
              hparams: dict | None = None) -> Path:
    """Pretrain a row's run (or re-use or resume it): OUT/runs/RUN_ID."""
    mb = protocol.methods[row.method]
    run_dir = out / "runs" / seeded_id(table.run_id(row), seed)
    train_input = TrainInput(count=max(mb.count, 1), augment=AugmentConfig(size=protocol.size, **row.augment),
                             data_root=data_root, **source_for(row, table, images_dir, imagenet, data_root))
    config = PretrainConfig(method=row.method, out=str(run_dir), input=train_input, arch=arch or table.arch,
                            epochs=epochs_for(mb, train_input, row.method), batch_size=mb.batch_size, device=device,
                            workers=workers, hparams={**mb.hparams, **(hparams or {})}, seed=seed,
                            precision=mb.precision or "32-true")
    pretrain(config, resume=(run_dir / "config.json").exists())
    return run_dir


def classifier_row(row: Row, table: Table, budget: Budget, probe_out: Path, seed: int, **common) -> dict:
    """Table D: train the teacher, or distil a student from the row's input into `protocol.arch`, and record the
    classifier's own test top-1 (and its agreement with the teacher) from its last epoch."""
    protocol = budget.protocol(table)
    teacher = next(r for r in table.rows if r.kind == "pretrain" and r.method == "supervised")
    if row is teacher:
        run_dir = train_row(row, table, protocol, seed=seed, **common)
    else:
        teacher_dir = common["out"] / "runs" / seeded_id(table.run_id(teacher), 0)
        if not (teacher_dir / "classifier.pt").exists():  # one teacher (seed 0) for every student
            run_row(teacher, table, budget, seed=0, **common)
        run_dir = train_row(row, table, protocol, seed=seed, arch=protocol.arch,
                            hparams={"teacher": str(teacher_dir.resolve())}, **common)
    last = [r for r in MetricsLog(run_dir / "metrics.jsonl").records() if r.get("kind") == "epoch"][-1]
    taps = {"student": {"top1": float(last["test_acc"])},
            "agreement": {"top1": float(last.get("test_agreement", 100.0))}}
    classes = {"cifar10": 10, "cifar100": 100}.get(table.probe_dataset)
    write_json(probe_out, {"taps": taps, "dataset": table.probe_dataset, "trunk": str(run_dir.name),
                           "protocol": {"classes": classes, "measure": "classifier", "made_by": made_by()}})
    return taps


def settings(tree, prefix: str = "") -> dict[str, object]:
    """A budget's settings as flat dotted keys (`cifar.methods.monogan.hparams.lr`), JSON values; unset (None)
    settings are left out, so a setting added later leaves the budget's earlier OUT folders valid."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    return {k: v for key, sub in tree.items() for k, v in settings(sub, f"{prefix}.{key}" if prefix else str(key)).items()
            if v is not None}


def check_budget(out: Path, budget: Budget, table: Table) -> None:
    """Refuse an OUT whose runs and probes were made at another budget, or at an earlier definition of the part
    of this one that `table` runs under (finished rows are re-used without re-running, so they would be reported
    as this budget's); record the budget in a new OUT, and a family's settings when it is first used."""
    path, now = out / "budget.json", settings(json.loads(json.dumps(asdict(budget))))
    mine = family(table)
    made = read_state(path, "delete it to start this OUT's record again (its runs and probes are kept)") if path.exists() \
        else {"name": budget.name}
    if made.get("name") != budget.name:
        raise UserError(f"--out {out}: its rows were made at the {made.get('name')} budget; "
                        f"pass --budget {made.get('name')} or a fresh --out")
    recorded = {k: v for k, v in made.items() if k.startswith(f"{mine}.")}
    if recorded:
        changed = sorted(k for k in recorded.keys() | {k for k in now if k.startswith(f"{mine}.")}
                         if recorded.get(k) != now.get(k))
        if changed:
            raise UserError(f"--out {out}: its rows were made at an earlier definition of the {budget.name} budget "
                            f"({', '.join(changed[:3])}{' ...' if len(changed) > 3 else ''} changed); pass a fresh --out "
                            f"(copy its {table.name}.json in to keep the rows it published)")
    else:
        write_json(path, {**made, **{k: v for k, v in now.items() if k.startswith(f"{mine}.")}})


def baseline_spec(row: Row, protocol: Protocol) -> str:
    """The trunk of a baseline row: `random-critic` rows are MonoGAN's critic at the init the protocol's MonoGAN
    starts from (`random-critic-smooth` where it draws conv1 smooth), `random-start` rows the trunk at the init
    the protocol's `row.method` starts from (`random-smooth` where it draws conv1 smooth), and `random-sobel` rows
    DeepCluster's (`random-sobel-smooth`), so they stay the trained rows' own random trunk."""
    if row.kind in ("random-start", "random-sobel"):  # DeepCluster's trunk is the one behind Sobel
        mb = protocol.methods.get("deepcluster" if row.kind == "random-sobel" else row.method)
        return trunk_baseline(mb.hparams.get("trunk_init", "deepcluster") if mb else "deepcluster",
                              sobel=row.kind == "random-sobel")
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


def collect(table: Table, budget: Budget, out: Path) -> TableResults:
    """Every finished seed of every row of `table` found under OUT/probes (whichever command ran it)."""
    results = TableResults(table.name, budget.name, list(table.columns))
    for row in table.rows:
        run_id = table.run_id(row)
        pattern = re.compile(rf"^{re.escape(run_id)}(?:_s(\d+))?\.{table.probe_dataset}\.json$")
        for path in sorted((out / "probes").glob(f"{run_id}*.{table.probe_dataset}.json")):
            match = pattern.match(path.name)
            if not match:
                continue
            seed = int(match.group(1) or 0)
            result = read_result(path)
            minutes = training_minutes(out / "runs" / seeded_id(run_id, seed)) if row.kind == "pretrain" else None
            protocol = result.get("protocol", {})
            cells = {t: m["top1"] for t, m in result["taps"].items() if "top1" in m}
            cells.update({f"knn_{t}": m["knn_top1"] for t, m in result["taps"].items() if "knn_top1" in m and table.knn})
            results.record(row.key, seed, cells, cpu_minutes=minutes,
                           commit=protocol.get("made_by", {}).get("commit"), classes=protocol.get("classes"))
    return results


def rank_check(table: Table, summary: dict, images_dir: str | None, data_root: str | None) -> dict:
    """Tables S and D: `monossl rank`'s score of each trained single source (rows of `summary`) against what it
    taught (Table S: the conv2 probe; Table D: the student's top-1), as Spearman (`monossl.rank.validate`); {} for
    other tables or fewer than three trained sources."""
    column = {"sources": "conv2"}.get(table.name, "student" if table.measure == "classifier" else None)
    if column is None:
        return {}
    from monossl.rank import validate

    def spec(row: Row) -> str | None:
        if row.train in ("image_a", "image_b"):
            return str(paper_image(row.train, images_dir, data_root))
        return row.train if SourceSpec.parse(row.train).kind != "path" else None

    specs = {r.key: spec(r) for r in table.rows if r.kind == "pretrain" and r.key in summary and r.method != "supervised"}
    specs = {k: v for k, v in specs.items() if v}
    if len(specs) < 3:
        return {}
    return {"rank": validate(specs, {k: summary[k]["mean"][column] for k in specs})}


def learning_curves(table: Table, out: Path) -> dict:
    """Table D: each row's test top-1 against the CPU-minutes of its training (seed 0), for the figure."""
    if table.measure != "classifier":
        return {}
    curves = {}
    for row in table.rows:
        records = MetricsLog(out / "runs" / table.run_id(row) / "metrics.jsonl").records()
        points = [[r.get("cpu_minutes") or 0.0, r["test_acc"]] for r in records
                  if r.get("kind") in ("eval", "epoch") and "test_acc" in r]
        if points:
            curves[row.key] = points[-1:] if row.method == "supervised" else points
    return {"curves": curves} if curves else {}


def training_minutes(run_dir: Path) -> float | None:
    """CPU-minutes the run's training took (its last epoch record), None when unknown."""
    epochs = [r for r in MetricsLog(run_dir / "metrics.jsonl").records() if r.get("kind") == "epoch"]
    return epochs[-1].get("cpu_minutes") if epochs else None


def require_inputs(table: Table, rows: list[Row], images_dir: str | None, data_root: str | None) -> None:
    """Every input the chosen rows need, found (or fetched) before the first row starts: the paper's images, and
    the CIFAR set a CIFAR table probes on or a row trains on."""
    for row in rows:
        if row.kind == "pretrain" and row.train in ("image_a", "image_b"):
            paper_image(row.train, images_dir, data_root)
    needed = {table.probe_dataset} | {r.train for r in rows if r.kind == "pretrain"}
    for name in sorted(needed & {"cifar10", "cifar100"}):
        from monossl.data.cifar import ensure_cifar

        ensure_cifar(name, data_root)


def table_results(table: Table, budget: Budget, out: Path) -> TableResults:
    """The rows to report: those the results file in OUT already holds at this budget, with every row found
    under OUT/probes laid over them (`collect`); published rows stay when their run folders are gone."""
    path = out / f"{table.name}.json"
    found = collect(table, budget, out)
    if not path.exists():
        return found
    published = TableResults.load(path)
    if published.budget != budget.name or published.table != table.name:
        return found
    return published.merge(found)


def reproduce(table_name: str, budget_name: str, out: str | Path, data_root: str | None = None, imagenet: str | None = None,
              rows: list[str] | None = None, device: str = "auto", workers: int = 2, images_dir: str | None = None,
              seeds: list[int] | None = None, report_only: bool = False) -> Path:
    """Run the selected rows of a table at each seed (default 0) and write OUT/tableN.{json,md,csv,png} and
    OUT/index.md. The report shows every finished row under OUT, also those another command ran (rows
    can run in parallel processes), with the mean and spread over the seeds found. With `report_only`, nothing
    runs: the reports are rendered again from OUT/tableN.json and the probes under OUT."""
    if table_name not in TABLES:
        raise UserError(f"{table_name}: choose one of {', '.join(TABLES)}")
    if budget_name not in BUDGETS:
        raise UserError(f"--budget {budget_name}: choose one of {', '.join(BUDGETS)}")
    table, budget = TABLES[table_name], BUDGETS[budget_name]
    out = Path(out)
    if report_only:
        if not (out / f"{table_name}.json").exists() and not (out / "probes").is_dir():
            raise UserError(f"--report-only: {out} holds no {table_name}.json and no probes/; run the table first")
        results = table_results(table, budget, out)
        write_report(table, results, out)
        write_index(out)
        return out / f"{table_name}.md"
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
    require_inputs(table, [r for r in table.rows if r.key in wanted], images_dir, data_root)
    out.mkdir(parents=True, exist_ok=True)
    check_budget(out, budget, table)
    for row in table.rows:
        if row.key not in wanted:
            continue
        for seed in seeds:
            print(f"[{table_name}] row ({row.key}) {row.label}, seed {seed}", file=sys.stderr, flush=True)
            run_row(row, table, budget, out, data_root, imagenet, images_dir, device, workers, seed)
            write_report(table, table_results(table, budget, out), out)
    results = table_results(table, budget, out)
    results.checks.update(rank_check(table, results.summary(), images_dir, data_root))
    curves = learning_curves(table, out)
    if curves:  # rows whose run folders are gone keep the curves they were published with
        results.checks["curves"] = {**results.checks.get("curves", {}), **curves["curves"]}
    write_report(table, results, out)
    write_index(out)
    return out / f"{table_name}.md"


def reproduce_command(options) -> str:
    """`monossl reproduce TABLE`: the rows of `options` (a `monossl.commands.ReproduceOptions`); prints the report."""
    table = f"{options.table}-{options.dataset}" if options.table == "distill" and options.dataset != "cifar10" else options.table
    path = reproduce(table, options.budget, options.out, data_root=options.data_root, imagenet=options.imagenet,
                     rows=list(options.rows) or None, device=options.device, workers=options.workers,
                     images_dir=options.images, seeds=list(options.seeds) or None, report_only=options.report_only)
    return path.read_text()
