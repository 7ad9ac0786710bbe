"""The test suite itself: every test asserts something, and no assertion has a form that cannot fail."""
import ast
from pathlib import Path

import pytest

MODULES = sorted(Path(__file__).parent.glob("test_*.py"))


def asserting_functions(tree: ast.Module) -> set[str]:
    """Names of the module's functions that assert (or expect an exception), directly or through each other."""
    funcs = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def direct(fn) -> bool:
        for node in ast.walk(fn):
            if isinstance(node, ast.Assert):
                return True
            if isinstance(node, ast.Attribute) and node.attr in ("raises", "warns", "fail") and \
                    isinstance(node.value, ast.Name) and node.value.id == "pytest":
                return True
        return False

    found = {name for name, fn in funcs.items() if direct(fn)}
    changed = True
    while changed:
        changed = False
        for name, fn in funcs.items():
            calls = {n.func.id for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            if name not in found and calls & found:
                found.add(name)
                changed = True
    return found


def vacuous(test: ast.expr) -> str | None:
    """Why an assertion's expression cannot fail, or None."""
    if isinstance(test, ast.Constant):
        return "a constant"
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id[:1].isupper():
        return "the truth of a new object"
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.GtE) and \
            isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == 0:
        words = ast.unparse(test.left).lower()
        if any(w in words for w in ("minute", "second", "time", "len(", "count")):
            return "a duration or count compared with 0"
    if isinstance(test, ast.BoolOp):
        return next(filter(None, (vacuous(v) for v in test.values)), None)
    return None


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_every_test_asserts_and_no_assertion_is_vacuous(path):
    tree = ast.parse(path.read_text())
    asserting = asserting_functions(tree)
    tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    assert tests, f"{path.name} holds no test"
    silent = [t.name for t in tests if t.name not in asserting]
    assert not silent, f"{path.name}: tests that assert nothing: {silent}"
    bad = [f"line {n.lineno}: {ast.unparse(n.test)} ({why})" for n in ast.walk(tree)
           if isinstance(n, ast.Assert) and (why := vacuous(n.test))]
    assert not bad, f"{path.name}: assertions that cannot fail: {bad}"


def test_the_checks_catch_what_they_are_for():
    """The vacuous forms of the four assertions this suite once held are caught."""
    for source in ("assert Hparams()", "assert result['cpu_minutes'] >= 0", "assert True", "assert x > 1 and Config()"):
        assert vacuous(ast.parse(source).body[0].test), source
    for source in ("assert patches.std() > 30", "assert result['top1'] >= 50", "assert torch.equal(a, b)"):
        assert vacuous(ast.parse(source).body[0].test) is None, source
    tree = ast.parse("def helper():\n    assert 1 == x\n\ndef test_a():\n    helper()\n\ndef test_b():\n    y = 1\n")
    assert asserting_functions(tree) >= {"helper", "test_a"} and "test_b" not in asserting_functions(tree)
