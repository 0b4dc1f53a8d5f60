"""The README stays one screen, its links lead somewhere, and CI installs and tests as it says."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def readme() -> str:
    return README.read_text(encoding="utf-8")


def relative_links(text: str) -> list[str]:
    """Link targets of the Markdown outside code blocks that are not URLs or in-page anchors."""
    prose = FENCE.sub("", text)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    targets = LINK.findall(prose) + re.findall(r"""<(?:img|a)\b[^>]*?(?:src|href)=["']([^"']+)""",
                                               prose)
    return [t for t in targets
            if not re.match(r"[a-z][a-z0-9+.-]*:", t, re.I) and not t.startswith("#")]


def test_the_readme_is_one_screen() -> None:
    lines = readme().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines (at most 250: the rest is in docs/)"


def test_every_relative_link_in_the_readme_exists() -> None:
    links = relative_links(readme())
    assert links, "the README links to no docs page"
    missing = [t for t in links if not (ROOT / t.split("#", 1)[0]).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_the_link_check_sees_what_it_should() -> None:
    text = ("[a](docs/a.md) ![p](docs/p.png) [b](docs/b.md#part) [w](https://x.org) [c](#top)\n"
            "`[not](code.md)`\n```\n[nor](block.md)\n```\n<img src=\"docs/i.png\">\n")
    assert relative_links(text) == ["docs/a.md", "docs/p.png", "docs/b.md#part", "docs/i.png"]


def test_ci_installs_and_tests_as_the_readme_says() -> None:
    text, ci = readme(), (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install = re.search(r'^CMAKE_ARGS=.*\\\n\s+pip install .*$', text, re.M)
    assert install, "the README's install line (CMAKE_ARGS ... pip install ...) is gone"
    assert install.group(0) in ci, f"CI does not install as the README says: {install.group(0)}"
    section = text.split("## Development / tests\n", 1)[1]
    command = re.search(r"```bash\n(.+?)\n```", section, re.S)
    assert command, "no test command under Development / tests"
    assert ci.rstrip().endswith(command.group(1).strip()), "CI does not run the README's test command"
