"""The docs cannot drift: the usage page is the parser's own, and every relative link and image resolves."""
import re
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_usage_page_is_what_the_parser_prints():
    render = runpy.run_path(str(ROOT / "docs" / "make_usage.py"))["render"]
    assert (ROOT / "docs" / "usage.md").read_text() == render(), "docs/usage.md is stale: run `make docs`"


def test_every_relative_link_and_image_in_readme_and_docs_resolves():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    broken = []
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold commands, not links
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert len(pages) > 5 and not broken, broken
