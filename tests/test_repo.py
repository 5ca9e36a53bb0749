"""The repository's promises: the README's two commands, and CI running the second."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_readme_opens_with_two_commands_and_ci_runs_the_test_one():
    cmds = readme_commands()
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert head.count("```bash") == 2
    assert "aptami demo" in cmds[0] and "pytest" in cmds[1]
    assert cmds[1] in (ROOT / ".ci" / "run").read_text()
