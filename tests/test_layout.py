"""The package's shape: no import cycles, a light command line, options declared once, and the Python API."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "monossl"


def module_imports() -> dict[str, set[str]]:
    """Each monossl module -> the monossl modules it imports at its top level (not inside functions)."""
    graph = {}
    for path in SRC.rglob("*.py"):
        name = ".".join(("monossl", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
        deps = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("monossl"):
                deps.add(node.module)
                deps |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("monossl")}
        graph[name] = deps
    return {k: {d for d in v if d in graph and d != k} for k, v in graph.items()}


def test_no_import_cycle_in_the_package():
    graph, state = module_imports(), {}

    def visit(node, path):
        state[node] = "open"
        for dep in graph[node]:
            if state.get(dep) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path + [dep]))
            if dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert len(graph) > 40  # the walk saw the package


def test_the_command_line_answers_help_and_refuses_values_without_torch():
    code = ("import sys; from monossl.cli import main; "
            "rc = main(['pretrain', 'rotnet', '--source', 'synthetic:noise', '--out', 'x', '--lr', 'fast']); "
            "print(rc, 'torch' in sys.modules, 'lightning' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["2", "False", "False"] and "--lr fast: must be a number" in done.stderr


def test_cli_is_small_and_spells_no_option():
    source = (SRC / "cli.py").read_text()
    assert len(source.splitlines()) < 250
    flags = [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and n.value.startswith("--") and n.value not in ("--config", "--resume", "--version")]
    assert not flags, flags  # every other flag comes from a dataclass


def every_command():
    from monossl.commands import COMMANDS, Command, pretrain_commands

    for name, entry in COMMANDS.items():
        if isinstance(entry, Command):
            yield [name]
        else:
            yield from ([name, sub] for sub in (pretrain_commands() if name == "pretrain" else entry))


@pytest.mark.parametrize("path", list(every_command()), ids=" ".join)
def test_every_command_builds_its_parser_and_help_shows_each_default_once(path, capsys):
    from monossl.cli import main

    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    text = capsys.readouterr().out
    assert done.value.code == 0 and "usage: monossl " + " ".join(path) in text and "Docs:" in text
    assert "(default: None)" not in text and text.count("(default:") == text.count("default:")


def test_a_new_option_is_one_field(monkeypatch, tmp_path, capsys):
    """Declaring a field is all it takes: the flag, its help, --config and config.json follow."""
    import dataclasses

    from monossl.methods import METHODS, hparams
    from monossl.options import Options, option

    @dataclasses.dataclass(frozen=True)
    class RotNetPlus(hparams.RotNet):
        label_noise: float = option(0.0, "a new option for this test", low=0, high=1)

    monkeypatch.setitem(METHODS, "rotnet", dataclasses.replace(METHODS["rotnet"], hparams=RotNetPlus))
    from monossl.cli import main

    with pytest.raises(SystemExit):
        main(["pretrain", "rotnet", "--help"])
    assert "--label-noise V" in capsys.readouterr().out
    assert main(["pretrain", "rotnet", "--source", "synthetic:noise", "--out", str(tmp_path / "r"), "--label-noise", "2"]) == 2
    assert "--label-noise 2.0: must be at most 1" in capsys.readouterr().err
    assert Options  # (the base every options class shares)


def test_the_python_api_names_arguments_as_given():
    import monossl
    from monossl.errors import UserError

    for call, message in [(lambda: monossl.generate(["synthetic:noise"], count=0, out="x"), "count=0: must be at least 1"),
                          (lambda: monossl.pretrain("rotnet", out="x", sources=["synthetic:noise"], lr=-1), "lr=-1.0"),
                          (lambda: monossl.probe("random", dataset="cifar10", out="p.json", epochs=0), "epochs=0"),
                          (lambda: monossl.pretrain("rotnet", out="x", sources=["synthetic:noise"], epoch=3),
                           "epoch=3: unknown setting (did you mean 'epochs'?)")]:
        with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
            call()
