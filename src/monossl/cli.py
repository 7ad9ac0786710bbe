"""The command line: a thin layer over the Python API. Bad input -> one line on stderr, exit status 2."""
from __future__ import annotations

import argparse
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


def augment_config(args):
    from monossl.data.sampler import AugmentConfig

    return AugmentConfig(size=args.size, beta=args.beta, gamma=args.gamma, max_angle=args.max_angle,
                         scale=not args.no_scale, rotation=not args.no_rotation, jitter=not args.no_jitter,
                         flip=not args.no_flip).validate()


def cmd_generate(args) -> None:
    from monossl.data.patches import materialise
    from monossl.data.sampler import PatchSampler
    from monossl.data.sources import load_sources

    config = augment_config(args)
    if args.count < 1:
        raise UserError(f"--count {args.count}: must be at least 1")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is a file; choose a folder for --out")
    images, names = load_sources(args.sources, seed=args.seed, data_root=args.data_root)
    sampler = PatchSampler(images, config, seed=args.seed, names=names)
    del images
    materialise(sampler, args.count, out, fmt=args.format, workers=args.workers, resume=args.resume)
    print(f"wrote {args.count} patches of {config.size}x{config.size} to {out}")


def cmd_probe(args) -> None:
    from monossl.probes import config_from_args, run_probe

    config = config_from_args(args.preset, epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
                              lr=args.lr, weight_decay=args.weight_decay, bn_stats=args.bn_stats)
    if config.epochs < 1:
        raise UserError(f"--epochs {config.epochs}: must be at least 1")
    taps = args.taps.split(",") if args.taps else None
    result = run_probe(args.trunk, args.dataset, args.out, arch=args.arch, data_root=args.data_root, taps=taps,
                       config=config, resume=args.resume, workers=args.workers)
    print(result.to_markdown())


def add_probe_parser(sub) -> None:
    p = sub.add_parser("probe", help="linear probes on every conv layer of a frozen trunk (§4.1)",
                       description="Train a linear probe (BatchNorm + linear) on every tap of a frozen trunk and report "
                                   "top-1/top-5. TRUNK is a run folder, a checkpoint, 'random' or 'kraehenbuehl'.")
    p.add_argument("trunk", metavar="TRUNK", help="RUN_DIR | CHECKPOINT | random | kraehenbuehl")
    p.add_argument("--arch", choices=["cifar", "alexnet", "alexnet-small"], default=None,
                   help="architecture; read from the checkpoint when it records one")
    p.add_argument("--dataset", required=True, help="cifar10 | cifar100 | folder:TRAIN_DIR,VAL_DIR")
    p.add_argument("--data-root", default=None, help="dataset root (default: $MONOSSL_DATA, else ~/.cache/monossl)")
    p.add_argument("--preset", default="paper", help="protocol preset: paper (÷5 at 5/15/25) or linear-probes (÷10 at 10/20/30, wd 1e-5)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (preset: 36)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (preset: 192)")
    p.add_argument("--lr", type=float, default=None, help="initial learning rate (preset: 0.01)")
    p.add_argument("--weight-decay", type=float, default=None, help="weight decay (preset: 5e-4)")
    p.add_argument("--bn-stats", choices=["population", "batch"], default=None,
                   help="CIFAR probes' BatchNorm statistics: fixed training-set ones (preset) or per batch")
    p.add_argument("--taps", default=None, help="comma-separated taps (default: all)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--workers", type=int, default=2, help="data-loading workers for image folders")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its last epoch")
    p.add_argument("--out", required=True, help="result JSON path (a Markdown table is written beside it)")
    p.set_defaults(func=cmd_probe)


def parse_value(text: str, default):
    """Parse a CLI value for a dataclass field, guided by its default's type."""
    if isinstance(default, bool):
        return text.lower() in ("1", "true", "yes")
    if isinstance(default, tuple):
        return tuple(float(v) for v in text.split(",") if v)
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float) or default is None:
        try:
            return float(text) if "." in text or "e" in text.lower() else int(text)
        except ValueError:
            return text
    return text


def cmd_pretrain(args) -> None:
    from dataclasses import fields

    from monossl.methods import PretrainConfig, method_module, pretrain

    module = method_module(args.method)
    hparams = {f.name: getattr(args, f"hp_{f.name}") for f in fields(module.Hparams) if hasattr(args, f"hp_{f.name}")}
    hparams = {k: parse_value(v, getattr(module.Hparams, k)) if isinstance(v, str) else v for k, v in hparams.items()}
    if args.epochs < 1 or args.batch_size < 1 or args.count < 1:
        raise UserError("--epochs, --batch-size and --count must be at least 1")
    config = PretrainConfig(method=args.method, out=args.out, arch=args.arch, sources=args.source or [],
                            patches=args.patches, dataset=args.dataset, folder=args.folder, size=args.size,
                            count=args.count, endless=args.endless, augment={k: v for k, v in augment_config(args).to_dict().items() if k != "size"},
                            epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, device=args.device,
                            devices=args.devices, precision=args.precision, workers=args.workers,
                            data_root=args.data_root, hparams=hparams)
    run = pretrain(config, resume=args.resume)
    print(f"trunk written to {run.trunk_path}; probe it with: monossl probe {run.out} --dataset cifar10")


def add_pretrain_parser(sub) -> None:
    from dataclasses import fields

    from monossl.methods import METHODS, method_module

    p = sub.add_parser("pretrain", help="self-supervised pretraining: rotnet, deepcluster, monogan, bigan, supervised",
                       description="Pretrain a trunk. Each method has its own defaults: see `monossl pretrain METHOD --help`.")
    methods = p.add_subparsers(dest="method", required=True, parser_class=Parser)
    for name, summary in METHODS.items():
        module = method_module(name)
        m = methods.add_parser(name, help=summary, description=(module.__doc__ or summary).strip())
        inputs = m.add_argument_group("input (exactly one)")
        inputs.add_argument("--source", nargs="+", default=None, help="on-the-fly patches from these images/folders/cifar10:N (§3.1)")
        inputs.add_argument("--patches", default=None, help="a `monossl generate` output folder")
        inputs.add_argument("--dataset", default=None, help="cifar10 | cifar100 (labels unused except by supervised)")
        inputs.add_argument("--folder", default=None, help="an image folder")
        m.add_argument("--arch", choices=["cifar", "alexnet", "alexnet-small"], default=getattr(module, "DEFAULT_ARCH", "cifar"),
                       help="trunk architecture")
        m.add_argument("--count", type=int, default=50000, help="d: patches per epoch for --source")
        m.add_argument("--endless", action="store_true", help="fresh patches every epoch (else the same d patches)")
        m.add_argument("--epochs", type=int, default=10, help="epochs")
        m.add_argument("--batch-size", type=int, default=getattr(module, "DEFAULT_BATCH", 128), help="batch size")
        m.add_argument("--out", required=True, help="run folder")
        m.add_argument("--seed", type=int, default=0, help="random seed")
        m.add_argument("--device", default="auto", help="auto | cpu | cuda")
        m.add_argument("--devices", type=int, default=1, help="devices per node (DDP when > 1)")
        m.add_argument("--precision", default="32-true", help="Fabric precision, e.g. bf16-mixed on GPUs")
        m.add_argument("--workers", type=int, default=2, help="data-loading workers")
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


def cmd_reproduce(args) -> None:
    from monossl.reproduce import reproduce

    rows = args.rows.split(",") if args.rows else None
    path = reproduce(args.table, args.budget, args.out, data_root=args.data_root, imagenet=args.imagenet, rows=rows,
                     device=args.device, workers=args.workers, images_dir=args.images)
    print(path.read_text())


def add_reproduce_parser(sub) -> None:
    from monossl.reproduce import BUDGETS, TABLES

    p = sub.add_parser("reproduce", help="run the paper's Tables 1-4 and print them next to the paper's numbers",
                       description="Run a table's rows (pretraining and probes) at a budget and write OUT/tableN.md/.csv/.png "
                                   "and OUT/index.md. Finished runs are re-used; interrupted ones resume.")
    p.add_argument("table", choices=list(TABLES), help="which table")
    p.add_argument("--budget", choices=list(BUDGETS), default="cpu", help="smoke (minutes, CI), cpu (~15 min a row), paper (GPU)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--data-root", default=None, help="CIFAR root (default: $MONOSSL_DATA, else ~/.cache/monossl)")
    p.add_argument("--imagenet", default=None, help="ImageNet root with train/ and val/ (Table 2)")
    p.add_argument("--images", default=None, help="folder with the paper's image_a.jpg and image_b.png (default: $MONOSSL_IMAGES, else ../shared/images)")
    p.add_argument("--rows", default=None, help="comma-separated row letters (default: all)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--workers", type=int, default=2, help="data-loading workers")
    p.add_argument("--resume", action="store_true", help="accepted for symmetry: reproduce always re-uses and resumes")
    p.set_defaults(func=cmd_reproduce)


def cmd_demo(args) -> None:
    from monossl.demo import run_demo

    report = run_demo(args.out, data_root=args.data_root, source=args.source, epochs=args.epochs, count=args.count,
                      seed=args.seed, workers=args.workers)
    print(f"report: {report}")


def add_demo_parser(sub) -> None:
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

        plot_filters(args.trunk, out, title=f"conv1 filters: {args.trunk}", arch=args.arch)
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
        from monossl.methods.engine import folder_images
        from monossl.viz.common import frozen_trunk

        side = frozen_trunk(args.trunk, args.arch)[0].input_size  # the size the trunk was built for
        return folder_images(args.dataset[len("folder:"):], side)
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


def add_viz_parsers(sub) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="monossl", description="Learn visual features from a single image (Asano et al., ICLR 2020).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("generate", help="turn N source images into D patches on disk (§3.1)",
                       description="Turn N source images into D training patches with the paper's augmentation protocol. "
                                   "Patch i comes from source i mod N.")
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

    for register in COMMANDS:
        register(sub)
    return parser


COMMANDS: list = [add_pretrain_parser, add_probe_parser, add_reproduce_parser, add_demo_parser, add_viz_parsers]


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = lambda message, category, *a, **k: f"monossl: warning: {message}\n"
    try:
        args = build_parser().parse_args(argv)
        args.func(args)
    except UserError as exc:
        print(f"monossl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("monossl: interrupted; rerun with --resume to continue", file=sys.stderr)
        return 130
    return 0
