"""Trunks people can take away: `monossl export RUN --format safetensors|torchscript --out DIR`.

The folder has the Hugging Face Hub's layout: `model.safetensors` (the trunk's weights as `trunk.*`, and for
supervised and distilled runs the head's as `head.*`), `config.json` (the architecture and its options, the taps,
the input size and normalisation, the class count, the run it came from) and `README.md`, a model card (source
images and their licences, method, settings, measured accuracy, the command that made it). With `torchscript`,
`model.torchscript.pt` too: `torch.jit.load` runs it without monossl (the trunk's last tap, or the classifier's
logits, for (B, 3, S, S) images in (-1, 1)). Every command that takes a TRUNK reads an exported folder
(`load_exported`), giving the same features bit for bit.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from monossl.errors import UserError, opt
from monossl.rundir import atomic_write_text, read_state

WEIGHTS, CONFIG, CARD, SCRIPT = "model.safetensors", "config.json", "README.md", "model.torchscript.pt"

# what monossl knows of a source's licence, by spec prefix or paper image
LICENCES = {
    "paper": "the paper's image, published by its authors (yukimasano/single_img_pretraining) without a licence; "
             "check before redistributing",
    "skimage": "a photograph bundled with scikit-image, public domain or CC0 (skimage.data)",
    "synthetic": "rendered by monossl, no image behind it: no licence needed",
    "cifar10": "CIFAR-10 training images (Krizhevsky 2009)", "cifar100": "CIFAR-100 training images (Krizhevsky 2009)",
    "gaussian-noise": "pixel noise: no licence needed",
}


def is_export(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / WEIGHTS).exists() and (Path(path) / CONFIG).exists()


def export(run: str | Path, out: str | Path, fmt: str = "safetensors") -> Path:
    """Export a finished run (or a trunk / classifier checkpoint) to `out`; returns `out`.

    Raises:
        UserError: no finished run there, or `out` is not an empty or absent folder."""
    from safetensors.torch import save_file

    from monossl.nets.classifier import load_classifier
    from monossl.nets.registry import load_trunk
    from monossl.provenance import made_by

    run, out = Path(run), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out}: exists and is not an empty folder; choose a new {opt('out')}")
    folder = run if run.is_dir() else run.parent
    trunk, arch, meta = load_trunk(run)
    classifier, cmeta = (load_classifier(folder) if (folder / "classifier.pt").exists() else (None, {}))
    model = classifier if classifier is not None else trunk
    tensors = ({f"trunk.{k}": v for k, v in classifier.trunk.state_dict().items()} |
               {f"head.{k}": v for k, v in classifier.head.state_dict().items()}) if classifier is not None else \
        {f"trunk.{k}": v for k, v in trunk.state_dict().items()}
    from monossl.nets.archs import options_of

    config = {"library": "monossl", "arch": arch, "arch_options": options_of(arch, trunk), "taps": trunk.tap_names,
              "input_size": trunk.input_size, "input_norm": meta.get("input_norm", "unit"),
              "input_range": "(-1, 1): uint8 / 127.5 - 1", "method": meta.get("method"), "run": folder.name,
              "made_by": made_by()}
    if classifier is not None:
        raw = torch.load(folder / "classifier.pt", map_location="cpu", weights_only=False)
        config |= {"classes": cmeta["classes"], "head_options": raw["head_options"], "test_acc": raw.get("test_acc")}
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out / WEIGHTS), metadata={"format": "pt"})
    atomic_write_text(out / CONFIG, json.dumps(config, indent=2, sort_keys=True) + "\n")
    if fmt == "torchscript":
        import warnings

        example = torch.zeros(1, 3, trunk.input_size, trunk.input_size)
        with warnings.catch_warnings():  # TorchScript is deprecated upstream, and still what runs without monossl
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*is deprecated.*")
            torch.jit.save(torch.jit.trace(model.eval(), example), str(out / SCRIPT))
    atomic_write_text(out / CARD, model_card(folder, config, fmt))
    return out


def model_card(folder: Path, config: dict, fmt: str) -> str:
    """A model card: what the trunk is, what it learned from (and the sources' licences), how well it does."""
    settings = read_state(folder / "config.json", "") if (folder / "config.json").exists() else {}
    inputs = settings.get("input", {})
    sources = inputs.get("sources") or ([inputs["dataset"]] if inputs.get("dataset") else []) or \
        ([f"folder {Path(inputs['folder']).name}"] if inputs.get("folder") else [])
    licences = []
    for spec in sources:
        kind = spec.split(":")[0] if ":" in spec else ("paper" if Path(spec).name.startswith(("image_a", "image_b", "ameyoko",
                                                                                            "animals")) else spec)
        licences.append(f"- `{Path(spec).name if '/' in spec else spec}`: {LICENCES.get(kind, 'your own image: its licence is yours to state')}")
    measured = []
    for result in sorted(folder.glob("probe*.json")):
        taps = read_state(result, "").get("taps", {})
        measured.append(f"- linear probes ({result.name}): " + ", ".join(f"{t} {m['top1']:.1f}" for t, m in taps.items()
                                                                          if "top1" in m))
    if config.get("test_acc") is not None:
        measured.append(f"- the classifier's own top-1 on its test set: {config['test_acc']:.2f}%")
    command = (folder / "command.txt").read_text().strip() if (folder / "command.txt").exists() else \
        f"monossl pretrain {settings.get('method', '?')} --config config.json (the run's own settings)"
    hparams = ", ".join(f"{k}={v}" for k, v in sorted(settings.get("hparams", {}).items()))
    lines = [
        "---", "library_name: monossl", "tags: [self-supervised, single-image, monossl]", "---", "",
        f"# {config['run']}: a {config['arch']} trunk trained by monossl ({config.get('method') or 'unknown method'})", "",
        "Learned with [monossl](https://github.com/monossl/monossl), following Asano, Rupprecht and Vedaldi, *A critical "
        "analysis of self-supervision, or what we can learn from a single image* (ICLR 2020).", "",
        "## Trained on", "", *(f"- `{s}`" for s in sources), "", "Licences of the sources:", *licences, "",
        "## Settings", "", f"- method: {settings.get('method')}; epochs {settings.get('epochs')}, batch "
        f"{settings.get('batch_size')}, seed {settings.get('seed')}, patch side {inputs.get('augment', {}).get('size')}, "
        f"{inputs.get('count')} patches an epoch", f"- the method's options: {hparams}", f"- command: `{command}`",
        f"- made by monossl {config['made_by']['version']} (commit {config['made_by']['commit']})", "",
        "## Measured", "", *(measured or ["- nothing measured in the run folder yet (`monossl probe RUN`)"]), "",
        "## Use", "", "```python", "from safetensors.torch import load_file", "import monossl.nets.export as e",
        "trunk = e.load_exported('.')  # a monossl Trunk: trunk(x, taps=('conv1', 'conv2')) -> named features", "```", "",
        f"Inputs: {config['input_size']}x{config['input_size']} RGB in {config['input_range']}. Taps: "
        f"{', '.join(config['taps'])}." + (f" `{SCRIPT}` runs with `torch.jit.load` alone." if fmt == "torchscript" else ""),
        ""]
    return "\n".join(lines)


def load_exported(path: str | Path, classifier: bool = False):
    """The trunk (or, with `classifier`, the whole classifier) of an exported folder, in eval mode.

    Raises:
        UserError: a folder that is not an export, or weights that do not fit its config."""
    from safetensors.torch import load_file

    from monossl.nets.classifier import Classifier, build_head
    from monossl.nets.registry import build_trunk

    path = Path(path)
    config = read_state(path / CONFIG, "export the run again")
    tensors = load_file(str(path / WEIGHTS))
    try:
        trunk = build_trunk(config["arch"], **config.get("arch_options", {}))
        trunk.load_state_dict({k[len("trunk."):]: v for k, v in tensors.items() if k.startswith("trunk.")})
        if not classifier:
            return trunk.eval()
        if "head_options" not in config:
            raise UserError(f"{path}: holds a trunk, not a classifier (the run had no head); pass a supervised or "
                            "distilled run's export")
        head = build_head(config["head_options"]["in_dim"], config["head_options"]["hidden"], config["classes"])
        head.load_state_dict({k[len("head."):]: v for k, v in tensors.items() if k.startswith("head.")})
        return Classifier(trunk, head).eval()
    except (RuntimeError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: weights that do not fit the config they came with ({str(exc).splitlines()[0][:120]}); "
                        "export the run again") from None


def export_command(options) -> str:
    """`monossl export RUN --out DIR`."""
    out = export(options.run, options.out, options.format)
    return f"wrote {out} ({', '.join(sorted(p.name for p in out.iterdir()))})"
