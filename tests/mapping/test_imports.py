"""The mapping package needs no pandas: importing every one of its modules loads none.

(Only the import is checked: pyarrow itself imports pandas, when it is installed, the first time
it converts Python objects, so a process that maps a batch has it loaded whatever this code does.)
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import courtfeed.mapping


def test_mapping_does_not_import_pandas():
    modules = sorted(f"courtfeed.mapping.{m.name}" for m in pkgutil.iter_modules(courtfeed.mapping.__path__))
    assert "courtfeed.mapping.convert" in modules and "courtfeed.mapping.records" in modules
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules)
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pandas'))\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
