"""The README's example runs as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_prints_what_it_says() -> None:
    match = re.search(r"## Example\n\n```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, "README.md has no '## Example' python block"
    code = match.group(1)
    expected = re.search(r"print\(.*\)\s+# (.+)", code)
    assert expected, "the example's print() has no '# expected output' comment"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected.group(1).strip()
