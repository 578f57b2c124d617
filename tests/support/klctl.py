"""Run the real `klctl` against a test API server, as a student would from a shell."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Klctl:
    server: str
    workdir: Path

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBELAB_CONFIG": str(self.workdir / "no-such-config")}
        return subprocess.run([sys.executable, "-m", "controlplane.klctl.main", "--server", self.server, *args],
                              input=stdin, capture_output=True, text=True, timeout=timeout, cwd=self.workdir,
                              env=env)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self(*args, stdin=stdin)
        assert result.returncode == 0, f"klctl {' '.join(args)} failed: {result.stderr}"
        return result.stdout

    def write(self, name: str, text: str) -> str:
        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)
