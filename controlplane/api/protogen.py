"""Generate the Python code of proto/ (`make proto`); the freshness test runs it into a scratch dir.

Messages get `_pb2.py` and typed `_pb2.pyi`; the files with services (SERVICE_PROTOS) get `_pb2_grpc.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "proto"
PROTO_DIR = PROTO_ROOT / "controlplane" / "api" / "v1"
SERVICE_PROTOS = ("api.proto", "streams.proto", "gossip.proto")


def generate(out: Path) -> None:
    from grpc_tools import protoc  # a dev dependency: only needed to regenerate

    sources = sorted(PROTO_DIR.glob("*.proto"))
    relative = [str(p.relative_to(PROTO_ROOT)) for p in sources]
    include = str(Path(protoc.__file__).parent / "_proto")
    common = ["protoc", f"-I{PROTO_ROOT}", f"-I{include}"]
    if protoc.main([*common, f"--python_out={out}", f"--pyi_out={out}", *relative]) != 0:
        raise RuntimeError("protoc failed on the message files")
    services = [r for r in relative if Path(r).name in SERVICE_PROTOS]
    if protoc.main([*common, f"--grpc_python_out={out}", *services]) != 0:
        raise RuntimeError("protoc failed on the service files")


def generated_files(out: Path) -> list[Path]:
    return sorted(p for p in (out / "controlplane" / "api" / "v1").glob("*_pb2*.py*"))


if __name__ == "__main__":
    for stale in generated_files(ROOT):
        stale.unlink()
    generate(ROOT)
    print(f"generated {len(generated_files(ROOT))} files in controlplane/api/v1", file=sys.stderr)
