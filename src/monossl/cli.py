"""The command line: a thin layer over the Python API. Bad input -> one line on stderr, exit status 2."""
from __future__ import annotations

import argparse
import errno
import json
import sys
import warnings
from pathlib import Path

from monossl.errors import UserError


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and every default shown in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise UserError(f"{self.prog}: {message} (see --help)")


def add_augment_options(p: argparse.ArgumentParser, size_default: int | None = 32) -> None:
    """The generator's §3.1 switches, shared by `generate` and on-the-fly `pretrain`."""
    g = p.add_argument_group("augmentation (§3.1)")
    g.add_argument("--size", type=int, default=size_default, help="patch side S in pixels")
    g.add_argument("--beta", type=float, default=1e-3, help="smallest crop area as a fraction of the source")
    g.add_argument("--gamma", type=float, default=0.75, help="aspect-ratio bound: gamma <= h/w <= 1/gamma")
    g.add_argument("--max-angle", type=float, default=35.0, help="rotation angle bound in degrees")
    g.add_argument("--no-scale", action="store_true", help="crop the largest box of the source's aspect ratio (Table 1 'No aug.')")
    g.add_argument("--no-rotation", action="store_true", help="switch rotation off")
    g.add_argument("--no-jitter", action="store_true", help="switch colour jitter off")
    g.add_argument("--no-flip", action="store_true", help="switch left-right flips off")
    g.add_argument("--resample", choices=["mip", "supersample"], default="mip",
                   help="mip: one bilinear read from the mipmap level (default); supersample: 2x2 reads one level finer (sharper)")


def augment_config(args):
    from monossl.data.sampler import AugmentConfig

    return AugmentConfig(size=args.size, beta=args.beta, gamma=args.gamma, max_angle=args.max_angle,
                         scale=not args.no_scale, rotation=not args.no_rotation, jitter=not args.no_jitter,
                         flip=not args.no_flip, resample=args.resample).validate()


def cmd_generate(args) -> None:
    from monossl.data.patches import materialise
    from monossl.data.sampler import PatchSampler
    from monossl.data.sources import load_sources

    config = augment_config(args)
    out = Path(args.out)
    if args.count < 1:  # checked before decoding the sources (materialise checks again, for the API)
        raise UserError(f"--count {args.count}: must be at least 1")
    images, names = load_sources(args.sources, seed=args.seed, data_root=args.data_root)
    sampler = PatchSampler(images, config, seed=args.seed, names=names)
    del images
    materialise(sampler, args.count, out, fmt=args.format, workers=args.workers, resume=args.resume)
    print(f"wrote {args.count} patches of {config.size}x{config.size} to {out}")


def parse_seeds(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--seeds {text}: give comma-separated integers, as in 0,1,2") from None


def cmd_probe(args) -> None:
    from monossl.probes import config_from_args, run_probe

    extra = {k: tuple(v) if isinstance(v, list) else v for k, v in getattr(args, "probe_extra", {}).items()}
    config = config_from_args(args.preset, **extra, epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
                              lr=args.lr, weight_decay=args.weight_decay, bn_stats=args.bn_stats,
                              augment=args.augment, norm=args.norm, train_limit=args.train_limit,
                              test_limit=args.test_limit, crop=args.crop)
    if not args.dataset:
        raise UserError("--dataset is required: cifar10, cifar100 or folder:TRAIN_DIR,VAL_DIR")
    from monossl.probes import interrupted

    if args.resume and not (Path(args.out).exists() or interrupted(args.out)):
        raise UserError(f"{args.out}: no interrupted probe to resume; drop --resume to start one")
    taps = args.taps.split(",") if args.taps else None
    result = run_probe(args.trunk, args.dataset, args.out, arch=args.arch, data_root=args.data_root, taps=taps,
                       config=config, resume=args.resume, workers=args.workers, seeds=parse_seeds(args.seeds))
    print(result.to_markdown())


def add_probe_parser(sub, argv: list[str]) -> None:
    from monossl.probes import AUGMENTS, BN_STATS, NORMS, PRESETS

    paper = PRESETS["paper"]
    p = sub.add_parser("probe", help="linear probes on every conv layer of a frozen trunk (§4.1)",
                       description="Train a linear probe (BatchNorm + linear) on every tap of a frozen trunk and report "
                                   "top-1/top-5. TRUNK is a run folder, a checkpoint, or a baseline: random (the ReLU "
                                   "trunk), random-critic (MonoGAN's critic at init; random-critic-smooth at its smooth "
                                   "init), random-sobel (DeepCluster's "
                                   "trunk at init) or kraehenbuehl.")
    p.add_argument("trunk", metavar="TRUNK", help="RUN_DIR | CHECKPOINT | random | random-critic | random-critic-smooth | random-sobel | kraehenbuehl")
    p.add_argument("--arch", choices=["cifar", "alexnet", "alexnet-small"], default=None,
                   help="architecture; read from the checkpoint when it records one (baselines: cifar)")
    p.add_argument("--dataset", default=None, help="cifar10 | cifar100 | folder:TRAIN_DIR,VAL_DIR (required)")
    p.add_argument("--data-root", default=None, help="dataset root (default: $MONOSSL_DATA, else ~/.cache/monossl)")
    p.add_argument("--preset", default="paper", choices=list(PRESETS),
                   help="protocol preset: paper (÷5 at 5/15/25) or linear-probes (÷10 at 10/20/30, wd 1e-5)")
    p.add_argument("--epochs", type=int, default=None, help=f"epochs (preset: {paper.epochs})")
    p.add_argument("--batch-size", type=int, default=None, help=f"batch size (preset: {paper.batch_size})")
    p.add_argument("--lr", type=float, default=None, help=f"initial learning rate (preset: {paper.lr})")
    p.add_argument("--weight-decay", type=float, default=None, help=f"weight decay (preset: {paper.weight_decay})")
    p.add_argument("--augment", choices=AUGMENTS, default=None,
                   help=f"training views: none, flip, or crop-flip (pad 4, random crop, flip) (preset: {paper.augment})")
    p.add_argument("--norm", choices=NORMS, default=None,
                   help=f"probe BatchNorm per channel (BatchNorm2d on the tap) or per feature (preset: {paper.norm})")
    p.add_argument("--bn-stats", choices=BN_STATS, default=None,
                   help=f"probe BatchNorm statistics: per batch (running ones at test), fixed training-set ones, or "
                        f"auto: fixed on CIFAR, per batch on image folders (preset: {paper.bn_stats})")
    p.add_argument("--taps", default=None, help="comma-separated taps (default: all)")
    p.add_argument("--crop", type=int, default=None, help="image folders: input side (default: the trunk's, 224 for AlexNet)")
    p.add_argument("--train-limit", type=int, default=None, help="probe on a seeded subset of the training split "
                   "(quick screens; image folders keep an equal share per class)")
    p.add_argument("--test-limit", type=int, default=None, help="evaluate on a seeded subset of the test split")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--seeds", default=None, help="comma-separated seeds, e.g. 0,1,2: mean and std per tap (overrides --seed)")
    p.add_argument("--workers", type=int, default=2, help="data-loading workers for image folders")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its last epoch")
    p.add_argument("--out", required=True, help="result JSON path (a Markdown table is written beside it)")
    p.add_argument("--config", default=None, help="a probe result JSON (its protocol) or YAML of ProbeConfig fields")
    p.set_defaults(func=cmd_probe)
    config = config_option(argv)
    if config:
        p.set_defaults(**probe_defaults(load_config_file(config)))


def probe_defaults(data: dict) -> dict:
    """A probe result's protocol (or YAML of ProbeConfig fields, plus dataset/taps/seeds) -> argparse defaults."""
    from dataclasses import fields

    from monossl.probes import ProbeConfig

    protocol = data.get("protocol", data)
    names = {f.name for f in fields(ProbeConfig)}
    out = {k: protocol[k] for k in ("epochs", "batch_size", "lr", "weight_decay", "augment", "norm", "bn_stats", "seed")
           if k in protocol}
    extra = {k: protocol[k] for k in names - set(out) if k in protocol}
    if extra:
        out["probe_extra"] = extra
    if "seeds" in protocol and isinstance(protocol["seeds"], list):
        out["seeds"] = ",".join(map(str, protocol["seeds"]))
    if "dataset" in data:
        out["dataset"] = data["dataset"]
    return out


def load_config_file(path: str) -> dict:
    """A saved config.json / result JSON or a YAML file, as a dict."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"--config {path}: no such file; pass a run's config.json or a YAML file")
    text = file.read_text()
    try:
        if file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise UserError(f"--config {path}: not valid {'YAML' if file.suffix.lower() in ('.yaml', '.yml') else 'JSON'} "
                        f"({type(exc).__name__}); fix the file") from None
    if not isinstance(data, dict):
        raise UserError(f"--config {path}: holds no mapping of settings; write key: value pairs")
    return data


def pretrain_defaults(data: dict, method: str) -> dict:
    """A PretrainConfig (config.json, either shape, or YAML of the same fields) -> argparse defaults."""
    from monossl.methods.engine import PretrainConfig

    if data.get("method", method) != method:
        raise UserError(f"--config: it configures {data['method']!r}, not {method!r}; run `monossl pretrain {data['method']}`")
    given = {"method": method, "out": data.get("out", "")} | {k: v for k, v in data.items() if k not in ("method", "out")}
    config = PretrainConfig.from_dict(given)
    inp, aug = config.input, config.input.augment
    out = {"source": list(inp.sources) or None, "patches": inp.patches, "dataset": inp.dataset, "folder": inp.folder,
           "count": inp.count, "endless": inp.endless, "data_root": inp.data_root, "size": aug.size, "beta": aug.beta,
           "gamma": aug.gamma, "max_angle": aug.max_angle, "no_scale": not aug.scale, "no_rotation": not aug.rotation,
           "no_jitter": not aug.jitter, "no_flip": not aug.flip, "arch": config.arch, "epochs": config.epochs,
           "batch_size": config.batch_size, "seed": config.seed, "device": config.device, "devices": config.devices, "nodes": config.nodes,
           "precision": config.precision, "workers": config.workers, "logger": config.logger}
    if config.out:
        out["out"] = config.out
    out.update({f"hp_{k}": v for k, v in config.hparams.items()})
    return out


def cmd_pretrain(args) -> None:
    from monossl.data.inputs import TrainInput
    from monossl.methods import pretrain
    from monossl.methods.engine import PretrainConfig

    if not args.out:
        raise UserError("--out RUN_DIR is required (or give `out` in --config)")
    hparams = {k[len("hp_"):]: v for k, v in vars(args).items() if k.startswith("hp_")}
    train_input = TrainInput(sources=tuple(args.source or ()), patches=args.patches, dataset=args.dataset, folder=args.folder,
                             count=args.count, endless=args.endless, augment=augment_config(args), data_root=args.data_root)
    config = PretrainConfig(method=args.method, out=args.out, input=train_input, arch=args.arch, epochs=args.epochs,
                            batch_size=args.batch_size, seed=args.seed, device=args.device, devices=args.devices,
                            nodes=args.nodes, precision=args.precision, workers=args.workers, logger=args.logger, hparams=hparams)
    pretrain(config, resume=args.resume)


def add_pretrain_parser(sub, argv: list[str]) -> None:
    from monossl.methods import METHODS

    p = sub.add_parser("pretrain", help="self-supervised pretraining: rotnet, deepcluster, monogan, bigan, supervised",
                       description="Pretrain a trunk. Each method has its own defaults: see `monossl pretrain METHOD --help`. "
                                   "A killed run continues with --resume (same command); a run's config.json reruns it "
                                   "with --config (flags given on the command line win).")
    methods = p.add_subparsers(dest="method", required=True, parser_class=Parser)
    chosen = next((a for a in argv if a in METHODS), None)
    for name, method in METHODS.items():
        if name != chosen:  # only the method being run pays for its imports
            methods.add_parser(name, help=method.summary, add_help=False)
            continue
        add_method_parser(methods, name, method, argv)


def add_method_parser(methods, name: str, method, argv: list[str]) -> None:
    from dataclasses import fields

    from monossl.methods import method_module

    module = method_module(name)
    m = methods.add_parser(name, help=method.summary, description=(module.__doc__ or method.summary).strip())
    m.add_argument("--config", default=None, help="a run's config.json (or YAML of the same fields) to start from")
    inputs = m.add_argument_group("input (exactly one)")
    inputs.add_argument("--source", nargs="+", default=None, help="on-the-fly patches from these images/folders/cifar10:N (§3.1)")
    inputs.add_argument("--patches", default=None, help="a `monossl generate` output folder")
    inputs.add_argument("--dataset", default=None, help="cifar10 | cifar100 (labels unused except by supervised)")
    inputs.add_argument("--folder", default=None, help="an image folder (class subfolders for supervised)")
    m.add_argument("--arch", choices=["cifar", "alexnet", "alexnet-small"], default="cifar", help="trunk architecture")
    m.add_argument("--count", type=int, default=50000, help="d: patches per epoch for --source")
    m.add_argument("--endless", action="store_true", help="fresh patches every epoch (else the same d patches)")
    m.add_argument("--epochs", type=int, default=10, help="epochs")
    m.add_argument("--batch-size", type=int, default=method.default_batch, help="batch size")
    m.add_argument("--out", default=None, help="run folder (required)")
    m.add_argument("--seed", type=int, default=0, help="random seed")
    m.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train")
    m.add_argument("--devices", type=int, default=1, help="devices (processes) per node (DDP when > 1)")
    m.add_argument("--nodes", type=int, default=1, help="nodes, each running this command under torchrun or fabric run")
    m.add_argument("--precision", default="32-true", help="Fabric precision, e.g. bf16-mixed on GPUs")
    m.add_argument("--workers", type=int, default=2, help="data-loading workers")
    m.add_argument("--logger", default="none", choices=["none", "csv", "tensorboard"],
                   help="a Fabric logger beside metrics.jsonl (tensorboard: pip install tensorboard)")
    m.add_argument("--data-root", default=None, help="dataset root for --dataset / cifar10:N")
    m.add_argument("--resume", action="store_true", help="continue a killed run from its last checkpoint")
    add_augment_options(m)
    hp = m.add_argument_group(f"{name} hyperparameters (defaults: the method's paper)")
    for f in fields(module.Hparams):
        default = f.default
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        hp.add_argument(f"--{f.name.replace('_', '-')}", dest=f"hp_{f.name}", default=argparse.SUPPRESS,
                        metavar="V", help=f"(default: {shown})")
    m.set_defaults(func=cmd_pretrain)
    config = config_option(argv)
    if config:
        m.set_defaults(**pretrain_defaults(load_config_file(config), name))


def config_option(argv: list[str]) -> str | None:
    """The value of --config in argv, read before the real parse so the file can supply defaults."""
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def cmd_reproduce(args) -> None:
    from monossl.reproduce import reproduce

    if not args.table or not args.out:
        raise UserError("reproduce needs TABLE and --out (on the command line or in --config)")
    rows = args.rows.split(",") if isinstance(args.rows, str) and args.rows else args.rows
    path = reproduce(args.table, args.budget, args.out, data_root=args.data_root, imagenet=args.imagenet, rows=rows,
                     device=args.device, workers=args.workers, images_dir=args.images, seeds=parse_seeds(
                         ",".join(map(str, args.seeds)) if isinstance(args.seeds, list) else args.seeds),
                     report_only=args.report_only)
    print(path.read_text())


def add_reproduce_parser(sub, argv: list[str]) -> None:
    tables, budgets = ["table1", "table2", "table3", "table4", "sources"], ["smoke", "cpu", "paper"]
    p = sub.add_parser("reproduce", help="run the paper's Tables 1-4 (and our Table S, `sources`) beside the paper's numbers",
                       description="Run a table's rows (pretraining and probes) at a budget and write OUT/tableN.md/.csv/.png "
                                   "and OUT/index.md. Rerunning the same command re-uses finished runs and probes and "
                                   "resumes interrupted ones (even after kill -9).")
    p.add_argument("table", nargs="?", choices=tables, default=None,
                   help="which table; `sources` is ours: the same MonoGAN run from photographs and synthetic images")
    p.add_argument("--config", default=None, help="YAML/JSON with any of these settings (table, budget, out, rows, ...)")
    p.add_argument("--budget", choices=budgets, default="cpu", help="smoke (minutes, CI), cpu (a laptop: 5-25 CPU-min a row), paper (GPU)")
    p.add_argument("--out", default=None, help="output folder (required)")
    p.add_argument("--data-root", default=None, help="CIFAR root (default: $MONOSSL_DATA, else ~/.cache/monossl)")
    p.add_argument("--imagenet", default=None, help="ImageNet root with train/ and val/ (Table 2)")
    p.add_argument("--images", default=None, help="folder with the paper's image_a.jpg and image_b.png "
                                                  "(default: $MONOSSL_IMAGES, else fetched once into the data root)")
    p.add_argument("--rows", default=None, help="comma-separated row letters (default: all)")
    p.add_argument("--seeds", default=None, help="comma-separated seeds to run the rows at (default: 0); the report "
                                                 "shows mean ± std over every seed found")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train")
    p.add_argument("--workers", type=int, default=2, help="data-loading workers")
    p.add_argument("--report-only", action="store_true", help="run nothing: render the reports again from OUT/tableN.json")
    p.set_defaults(func=cmd_reproduce)
    config = config_option(argv)
    if config:
        data = load_config_file(config)
        known = {a.dest for a in p._actions} - {"help", "config"}
        unknown = sorted(set(k.replace("-", "_") for k in data) - known)
        if unknown:
            raise UserError(f"--config {config}: unknown setting(s) {', '.join(unknown)}; see monossl reproduce --help")
        p.set_defaults(**{k.replace("-", "_"): v for k, v in data.items()})


def cmd_demo(args) -> None:
    from monossl.demo import run_demo

    report = run_demo(args.out, data_root=args.data_root, source=args.source, epochs=args.epochs, count=args.count,
                      seed=args.seed, workers=args.workers)
    print(f"report: {report}")


def add_demo_parser(sub, argv: list[str]) -> None:
    p = sub.add_parser("demo", help="the main job on built-in defaults: patches, RotNet, probes, report (~7 min on 2 cores)",
                       description="Patches from a built-in image, a short RotNet pretraining, CIFAR-10 probes next to a "
                                   "random trunk and the paper, and a Markdown report with figures.")
    p.add_argument("--out", default="demo_out", help="output folder")
    p.add_argument("--data-root", default=None, help="CIFAR-10 root (default: $MONOSSL_DATA, else ~/.cache/monossl, else download)")
    p.add_argument("--source", default=None, help="an image of your own instead of the built-in one")
    p.add_argument("--epochs", type=int, default=4, help="RotNet epochs")
    p.add_argument("--count", type=int, default=12800, help="patches per epoch")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--workers", type=int, default=0, help="data-loading workers")
    p.set_defaults(func=cmd_demo)


def parse_units(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(u) for u in text.split(",") if u]
    except ValueError:
        raise UserError(f"--units {text}: give comma-separated unit numbers, as in 0,5,12") from None


def check_png(path: str) -> Path:
    out = Path(path)
    if out.is_dir():
        raise UserError(f"{out}: is a folder; --out takes a .png file name")
    return out


def cmd_viz(args) -> None:
    from monossl.viz.figures import save_panels

    out = check_png(args.out)
    if args.what == "filters":
        from monossl.viz.filters import plot_filters

        score = plot_filters(args.trunk, out, title=f"conv1 filters: {args.trunk}", arch=args.arch)
        print(f"conv1 structure {score['structure']:.3f} (white noise: {score['random']:.3f}; share of filter energy "
              f"at periods of {score['min_period']:.0f} px or more)")
    elif args.what == "actmax":
        from monossl.viz.actmax import activation_maximisation

        images, units = activation_maximisation(args.trunk, args.layer, parse_units(args.units), size=args.size,
                                                steps=args.steps, seed=args.seed, arch=args.arch)
        panels = [(f"{args.layer}:{u}", img.permute(1, 2, 0).numpy()) for u, img in zip(units, images)]
        save_panels(panels, out, title=f"activation maximisation, {args.trunk}", ncol=min(4, len(panels)))
    else:
        from monossl.viz.retrieval import retrieval

        images = retrieval_images(args)
        tiles, units = retrieval(args.trunk, images, args.layer, parse_units(args.units), arch=args.arch, seed=args.seed)
        panels = [(f"{args.layer}:{units[i // 9]} #{i % 9 + 1}", tile) for i, tile in enumerate(tiles)]
        save_panels(panels, out, title=f"top-9 retrieval, {args.trunk}", ncol=9, tile_inches=0.9)
    print(f"wrote {out}")


def retrieval_images(args):
    if args.dataset in ("cifar10", "cifar100"):
        from monossl.data.cifar import load_cifar

        return load_cifar(args.dataset, args.data_root, train=False).images
    if args.dataset and args.dataset.startswith("folder:"):
        from monossl.data.folder import folder_images
        from monossl.data.sources import list_images
        from monossl.viz.common import frozen_trunk

        side = frozen_trunk(args.trunk, args.arch)[0].input_size  # the size the trunk was built for
        folder = args.dataset[len("folder:"):]
        if not Path(folder).is_dir():
            raise UserError(f"--dataset {args.dataset}: {folder} is not a folder; pass folder:DIR with images inside")
        return folder_images(list_images(Path(folder)), side, folder)
    raise UserError(f"--dataset {args.dataset}: choose cifar10, cifar100 or folder:DIR")


def cmd_style(args) -> None:
    from monossl.viz.figures import save_panels
    from monossl.viz.style import load_rgb01, style_transfer

    out = check_png(args.out)
    content, style = load_rgb01(args.content, args.size), load_rgb01(args.style, args.size)
    layers = args.style_layers.split(",") if args.style_layers else None
    panels = [("content", content[0].permute(1, 2, 0).numpy()), ("style", style[0].permute(1, 2, 0).numpy())]
    for label in [args.features] + ([args.compare] if args.compare else []):
        image, history = style_transfer(label, content, style, layers, args.content_layer, args.style_weight,
                                        args.content_weight, args.steps, arch=args.arch, seed=args.seed)
        panels.append((f"{Path(label).name}: loss {history[0]:.3g} -> {history[-1]:.3g}", image[0].permute(1, 2, 0).numpy()))
    save_panels(panels, out, title="Gatys style transfer", tile_inches=3.0)
    print(f"wrote {out}")


def add_viz_parser(sub, argv: list[str]) -> None:
    p = sub.add_parser("viz", help="conv1 filters, activation maximisation, top-9 retrieval (§4.4)")
    kinds = p.add_subparsers(dest="what", required=True, parser_class=Parser)
    for name, summary in (("filters", "all conv1 filters as a grid, each scaled to (-1, 1) (Fig. 4)"),
                          ("actmax", "activation maximisation with a Fourier, decorrelated-colour image (Fig. 5)"),
                          ("retrieval", "the 9 dataset images that activate each unit most (Fig. 5)")):
        q = kinds.add_parser(name, help=summary, description=summary)
        q.add_argument("trunk", metavar="RUN_OR_CKPT", help="run folder, checkpoint, or random")
        q.add_argument("--arch", default=None, help="architecture for plain state_dicts or 'random'")
        q.add_argument("--out", required=True, help="output PNG")
        q.add_argument("--seed", type=int, default=0, help="random seed (unit choice, initialisation)")
        if name != "filters":
            q.add_argument("--layer", required=True, help="tap, e.g. conv2")
            q.add_argument("--units", default=None, help="comma-separated units (default: random ones)")
        if name == "actmax":
            q.add_argument("--size", type=int, default=128, help="image side")
            q.add_argument("--steps", type=int, default=256, help="optimisation steps")
        if name == "retrieval":
            q.add_argument("--dataset", default="cifar10", help="cifar10 | cifar100 | folder:DIR")
            q.add_argument("--data-root", default=None, help="dataset root")
        q.set_defaults(func=cmd_viz)


def add_style_parser(sub, argv: list[str]) -> None:
    s = sub.add_parser("style", help="Gatys style transfer with a trunk's features (Fig. 6)",
                       description="Gatys et al. style transfer: Gram-matrix style losses and a content loss on a "
                                   "trunk's taps, optimised with L-BFGS.")
    s.add_argument("content", help="content image")
    s.add_argument("style", help="style image")
    s.add_argument("--features", required=True, help="run folder, checkpoint, or random")
    s.add_argument("--compare", default=None, help="a second trunk shown beside it, e.g. random")
    s.add_argument("--arch", default=None, help="architecture for plain state_dicts or 'random'")
    s.add_argument("--size", type=int, default=256, help="image side")
    s.add_argument("--steps", type=int, default=30, help="L-BFGS steps (10 evaluations each)")
    s.add_argument("--style-layers", default=None, help="comma-separated taps (default: every conv)")
    s.add_argument("--content-layer", default=None, help="tap for the content loss (default: a middle one)")
    s.add_argument("--style-weight", type=float, default=10.0, help="weight of the (normalised) style loss")
    s.add_argument("--content-weight", type=float, default=1.0, help="weight of the content loss")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.add_argument("--out", required=True, help="output PNG")
    s.set_defaults(func=cmd_style)


def add_generate_parser(sub, argv: list[str]) -> None:
    p = sub.add_parser("generate", help=SUMMARIES["generate"],
                       description="Turn N source images into D training patches with the paper's augmentation protocol. "
                                   "Patch i comes from source i mod N. An interrupted run continues with --resume.")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="image files, folders, cifar10:N, cifar100:N or folder:DIR:N")
    p.add_argument("--count", type=int, required=True, help="number of patches D")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same bytes")
    p.add_argument("--format", choices=["npy", "png"], default="npy", help="npy: DIR/patches.npy; png: DIR/train/patches/*.png")
    p.add_argument("--workers", type=int, default=0, help="worker processes (0: in the main process)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--data-root", default=None, help="dataset root for cifar10:N sources")
    add_augment_options(p)
    p.set_defaults(func=cmd_generate)


def cmd_curve(args) -> None:
    from monossl.curves import QUICK, learning_curve, plot_curves

    taps = args.taps.split(",") if args.taps else None
    curves = []
    for run in args.run:
        curve = learning_curve(run, args.dataset, args.data_root, every=args.every, config=QUICK, taps=taps)
        print(f"{run}:")
        for point in curve["points"]:
            minutes = f"{point['cpu_minutes']:.1f} CPU-min" if point.get("cpu_minutes") is not None else "?"
            print(f"  epoch {point['epoch']:3d} ({minutes}): " + " ".join(f"{t} {v:.1f}" for t, v in point["top1"].items())
                  + f"  conv1 structure {point['conv1_structure']:.2f}")
        print(f"  {curve['baseline']}: " + " ".join(f"{t} {v:.1f}" for t, v in curve["random"].items()))
        print(f"  wrote {Path(run) / 'curve.png'} and curve.json")
        curves.append(curve)
    if args.compare:
        plot_curves(curves, Path(args.compare))
        print(f"wrote {args.compare}")


def add_curve_parser(sub, argv: list[str]) -> None:
    p = sub.add_parser("curve", help=SUMMARIES["curve"],
                       description="Probe every epoch snapshot of a run with the quick protocol (10k/5k CIFAR split, "
                                   "10 epochs) beside its random trunk (the random critic for MonoGAN), and plot top-1 "
                                   "against CPU-minutes and images seen: RUN/curve.png, RUN/curve.json. Finished "
                                   "snapshots are re-used. Several runs: --compare PNG draws them on shared axes.")
    p.add_argument("run", metavar="RUN_DIR", nargs="+", help="`monossl pretrain` run folder(s)")
    p.add_argument("--dataset", default="cifar10", choices=["cifar10", "cifar100"], help="probe dataset")
    p.add_argument("--data-root", default=None, help="dataset root (default: $MONOSSL_DATA, else ~/.cache/monossl)")
    p.add_argument("--every", type=int, default=1, help="probe every N-th snapshot (the last one always)")
    p.add_argument("--taps", default=None, help="comma-separated taps (default: all)")
    p.add_argument("--compare", default=None, metavar="PNG", help="also draw all the runs' curves on shared axes here")
    p.set_defaults(func=cmd_curve)


def cmd_rank(args) -> None:
    from monossl.rank import rank_images

    rows = rank_images(args.images, count=args.count, seed=args.seed, out=args.out)
    print("| rank | image | score | edges | colour | diversity | spectral slope |\n|---|---|---|---|---|---|---|")
    for i, r in enumerate(rows, 1):
        print(f"| {i} | {r['image']} | {r['score']:.4f} | {r['edges']:.4f} | {r['colour']:.4f} | {r['diversity']:.3f} | "
              f"{r['spectral_slope']:.2f} |")


def add_rank_parser(sub, argv: list[str]) -> None:
    p = sub.add_parser("rank", help=SUMMARIES["rank"],
                       description="Score candidate source images from statistics of their §3.1 patches (edges, colour, "
                                   "diversity, spectrum) in seconds, and print them best first.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files, folders or any source spec (synthetic:noise, ...)")
    p.add_argument("--count", type=int, default=512, help="patches drawn per image")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--out", default=None, help="also write the ranking as JSON")
    p.set_defaults(func=cmd_rank)


SUMMARIES = {
    "rank": "which single image teaches best? a patch-statistics score, best first",
    "curve": "learning curve of a run: quick probes of its epoch snapshots against CPU-minutes",
    "generate": "turn N source images into D patches on disk (§3.1)",
    "pretrain": "self-supervised pretraining: rotnet, deepcluster, monogan, bigan, supervised",
    "probe": "linear probes on every conv layer of a frozen trunk (§4.1)",
    "reproduce": "run the paper's Tables 1-4 and print them next to the paper's numbers",
    "demo": "the main job on built-in defaults: patches, RotNet, probes, report (~7 min on 2 cores)",
    "viz": "conv1 filters, activation maximisation, top-9 retrieval (§4.4)",
    "style": "Gatys style transfer with a trunk's features (Fig. 6)",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser, with only the chosen command's options built (so `monossl --help` and
    `monossl generate` import no training machinery)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = Parser(prog="monossl", description="Learn visual features from a single image (Asano et al., ICLR 2020).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, register in COMMANDS.items():
        if name == chosen:
            register(sub, argv)
        else:
            sub.add_parser(name, help=SUMMARIES[name], add_help=False)
    return parser


COMMANDS = {"generate": add_generate_parser, "pretrain": add_pretrain_parser, "probe": add_probe_parser,
            "reproduce": add_reproduce_parser, "curve": add_curve_parser, "rank": add_rank_parser, "demo": add_demo_parser, "viz": add_viz_parser, "style": add_style_parser}


WRITE_ERRORS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                errno.EACCES: "permission denied", errno.EROFS: "read-only file system", errno.EPERM: "not permitted"}
WRITE_FIXES = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space",
               errno.EACCES: "choose a writable --out", errno.EROFS: "choose a writable --out",
               errno.EPERM: "choose a writable --out"}


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = lambda message, category, *a, **k: f"monossl: warning: {message}\n"
    try:
        args = build_parser(argv).parse_args(argv)
        args.func(args)
    except UserError as exc:
        print(f"monossl: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"monossl: error: {where}{WRITE_ERRORS[exc.errno]}; {WRITE_FIXES[exc.errno]} (nothing incomplete was "
              "left looking finished; rerun with --resume where the command has it)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("monossl: interrupted; rerun with --resume to continue", file=sys.stderr)
        return 130
    return 0
