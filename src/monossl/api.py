"""The Python API: one call per command, taking the same options as the command line, by name.

Options are keyword arguments, flat (`epochs=5`, `lr=0.1`, `size=64`) or grouped as in config.json
(`input={"count": 12800}`); they are checked as the command line checks them, and a refused value names the
argument (`count=0: must be at least 1`).

    import monossl
    run = monossl.pretrain("monogan", sources=["paper:image_b"], count=12800, epochs=2, out="runs/gan")
    result = monossl.probe("runs/gan", dataset="cifar10", out="runs/gan/probe.json", knn=True)
    student = monossl.distill(teacher="runs/teacher", sources=["paper:image_b"], out="runs/student")
"""
from __future__ import annotations

from monossl import options as O


def _build(cls, values: dict, hparams=None):
    tree = O.nest_leaves(cls, values, {"hparams": hparams} if hparams else None)
    return O.build(cls, tree, source="api", hparams=(lambda _: hparams) if hparams else None)


def _pretrain_config(method: str, values: dict):
    from monossl.methods import METHODS
    from monossl.methods.config import PretrainConfig

    if method not in METHODS:
        raise O.OptionError("method", method, f"unknown method; choose one of {', '.join(METHODS)}")
    values = {"batch_size": METHODS[method].default_batch, **values, "method": method}
    return _build(PretrainConfig, values, METHODS[method].hparams)


def generate(sources, *, count: int, out: str, resume: bool = False, **options) -> str:
    """Cut `count` §3.1 patches from `sources` into `out`; returns the folder."""
    from monossl.commands import GenerateOptions
    from monossl.data.patches import generate as run

    opts = _build(GenerateOptions, {"sources": list(sources) if not isinstance(sources, str) else [sources],
                                    "count": count, "out": out, **options})
    run(opts, resume=resume)
    return opts.out


def pretrain(method: str, *, out: str, resume: bool = False, **options):
    """Pretrain a trunk with `method` (rotnet, deepcluster, monogan, bigan, supervised, distill); returns the
    finished `Run` (its `trunk_path` is what `probe` takes)."""
    from monossl.methods import pretrain as run

    return run(_pretrain_config(method, {"out": out, **options}), resume=resume)


def distill(*, teacher: str, out: str, resume: bool = False, **options):
    """Distil `teacher` into a random student from the inputs given (`sources=[...]`, or `dataset=`); returns the
    finished `Run` (RUN/classifier.pt holds the student)."""
    return pretrain("distill", out=out, resume=resume, teacher=teacher, **options)


def probe(trunk: str, *, dataset: str, out: str, resume: bool = False, **options):
    """Linear probes (and kNN with `knn=True`) on every tap of a frozen trunk; returns the `ProbeResult`."""
    from monossl.commands import ProbeOptions
    from monossl.probes.linear import KNN, run_probe

    values = {"trunk": str(trunk), "dataset": dataset, "out": out, **options}
    values = O.merged(ProbeOptions.layered(values), O.nest_leaves(ProbeOptions, values))
    opts = O.build(ProbeOptions, values, source="api")
    knn = KNN(opts.knn_k, opts.knn_temperature, opts.knn_pool) if opts.knn or opts.knn_only else None
    return run_probe(opts.trunk, opts.dataset, opts.out, arch=opts.arch, data_root=opts.data_root,
                     taps=list(opts.taps) or None, config=opts.protocol, resume=resume, workers=opts.workers,
                     seeds=list(opts.seeds) or None, knn=knn, linear=not opts.knn_only)


def reproduce(table: str, *, out: str, **options):
    """Run a table's rows at a budget; returns the path of its Markdown report."""
    from monossl.commands import ReproduceOptions
    from monossl.reproduce.runner import reproduce_command

    opts = _build(ReproduceOptions, {"table": table, "out": out, **options})
    reproduce_command(opts)
    from pathlib import Path

    name = f"{table}-{opts.dataset}" if table == "distill" and opts.dataset != "cifar10" else table
    return Path(out) / f"{name}.md"


def export(run: str, *, out: str, format: str = "safetensors"):
    """Export a run's trunk (and head) as safetensors (and TorchScript); returns the folder."""
    from monossl.commands import ExportOptions
    from monossl.nets.export import export as run_export

    opts = _build(ExportOptions, {"run": str(run), "out": out, "format": format})
    return run_export(opts.run, opts.out, opts.format)


__all__ = ["export", "distill", "generate", "pretrain", "probe", "reproduce"]
