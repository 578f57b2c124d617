"""The committed generated code is what `make proto` makes from proto/ now."""

from pathlib import Path

from controlplane.api import protogen


def test_generated_code_matches_the_proto_sources(tmp_path: Path) -> None:
    protogen.generate(tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in protogen.generated_files(tmp_path)}
    committed = {p.relative_to(protogen.ROOT): p.read_bytes() for p in protogen.generated_files(protogen.ROOT)}
    assert sorted(fresh) == sorted(committed), "generated file set differs: run `make proto`"
    stale = [str(path) for path, content in fresh.items() if committed[path] != content]
    assert not stale, f"stale generated code (run `make proto`): {stale}"
