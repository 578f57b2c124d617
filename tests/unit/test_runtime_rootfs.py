"""The container's root: the mount plan, target resolution inside the root, the upper layer's content."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.images.catalog import ImageConfig, ImageFile, SharedDir
from agent.runtime.interface import Mount
from agent.runtime.nsinit import find_executable, secure_join
from agent.runtime.rootfs import (
    UpperDir,
    ensure_shared_dir,
    hidden_dirs,
    mount_plan,
    plan_upper,
    prepare_upper,
    write_upper,
)


def _plan(**overrides: object) -> list[dict[str, object]]:
    arguments: dict[str, object] = {
        "etc_hosts": Path("/pod/hosts"), "resolv_conf": Path("/pod/resolv.conf"), "hostname_file": Path("/c/hostname"),
        "volumes": (), "host_paths": (), "root_device": 1, "device_of": lambda path: 1,
    }
    arguments.update(overrides)
    return mount_plan(**arguments)  # type: ignore[arg-type]


def test_the_plan_mounts_the_kernel_filesystems_then_the_pods_files() -> None:
    plan = _plan()
    targets = [step["target"] for step in plan if step["op"] in ("mount", "bind")]
    assert targets == ["/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
                       "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"]
    sys_mount = next(step for step in plan if step["target"] == "/sys")
    assert "ro" in sys_mount["flags"]  # type: ignore[operator]
    assert {step["target"] for step in plan if step["op"] == "mknod"} == {
        "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
    hosts = next(step for step in plan if step["target"] == "/etc/hosts")
    assert hosts == {"op": "bind", "source": "/pod/hosts", "target": "/etc/hosts", "readonly": False,
                     "recursive": False, "replace_symlink": True}


def test_volumes_come_last_read_only_where_asked() -> None:
    plan = _plan(volumes=(Mount(Path("/vol/data"), "/data"), Mount(Path("/vol/cfg"), "/etc/config", read_only=True)),
                 shared=[(Path("/state/images/busybox-applets-1"), "/opt/busybox/bin")])
    assert plan[-3:] == [
        {"op": "bind", "source": "/state/images/busybox-applets-1", "target": "/opt/busybox/bin", "readonly": True,
         "recursive": False},
        {"op": "bind", "source": "/vol/data", "target": "/data", "readonly": False, "recursive": True},
        {"op": "bind", "source": "/vol/cfg", "target": "/etc/config", "readonly": True, "recursive": True},
    ]


def test_host_paths_are_bound_only_when_the_overlay_cannot_show_them() -> None:
    devices = {"/venv": 1, "/home/me/venv": 2, "/gone": None}
    plan = _plan(host_paths=("/venv", "/home/me/venv", "/gone"), device_of=devices.get)
    binds = [step for step in plan if step["op"] == "bind" and step["source"] == step["target"]]
    assert binds == [{"op": "bind", "source": "/home/me/venv", "target": "/home/me/venv", "readonly": True,
                      "recursive": True}]


def test_a_relative_volume_target_is_refused() -> None:
    with pytest.raises(ValueError, match="absolute"):
        _plan(volumes=(Mount(Path("/v"), "data"),))


def test_secure_join_keeps_symlinks_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "usr" / "bin").mkdir(parents=True)
    os.symlink("/usr/bin", root / "bin")
    os.symlink("/etc/../../../outside", root / "escape")
    os.symlink("../../../../..", root / "etc" / "up")
    os.symlink("loop", root / "loop")
    r = str(root)
    assert secure_join(r, "/bin/sh") == f"{r}/usr/bin/sh"
    assert secure_join(r, "/escape/x") == f"{r}/outside/x"
    assert secure_join(r, "/etc/up/etc/passwd") == f"{r}/etc/passwd"
    assert secure_join(r, "/../../tmp") == f"{r}/tmp"
    with pytest.raises(OSError, match="too many levels"):
        secure_join(r, "/loop/x")


def test_executables_are_found_in_the_containers_path(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    tool = tmp_path / "bin" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    (tmp_path / "bin" / "data").write_text("")
    env = {"PATH": f"/nonexistent:{tmp_path}/bin"}
    assert find_executable("tool", env) == str(tool)
    with pytest.raises(Exception, match='exec: "data": executable file not found in \\$PATH'):
        find_executable("data", env)
    with pytest.raises(Exception, match='exec: "/no/such": stat /no/such: no such file or directory'):
        find_executable("/no/such", env)


def test_hidden_dirs_do_not_nest(tmp_path: Path) -> None:
    hidden = hidden_dirs(Path("/tmp/state-x"))
    assert "/tmp" in hidden and "/run" in hidden
    assert "/tmp/state-x" not in hidden  # under /tmp, hidden already
    assert os.path.realpath("/var/lib/kl-state") in hidden_dirs(Path("/var/lib/kl-state"))


def test_the_upper_layer_gets_the_images_files_where_the_host_resolves_them(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    upper.mkdir()
    image = ImageConfig(reference="x", entrypoint=(), cmd=("sh",), env=(),
                        files=(ImageFile("/bin/sh", symlink="/usr/bin/busybox"),
                               ImageFile("/usr/share/nginx/html/index.html", b"hi"),
                               ImageFile("/usr/sbin/nginx", b"#!/bin/sh\n", 0o755)),
                        opaque_dirs=("/usr/share/nginx/html",))
    prepare_upper(upper, image, ["/tmp"])
    bin_dir = os.path.realpath("/bin")  # /usr/bin on a merged-/usr host
    assert os.readlink(upper / bin_dir.lstrip("/") / "sh") == "/usr/bin/busybox"
    assert (upper / "usr/share/nginx/html/index.html").read_bytes() == b"hi"
    assert os.stat(upper / "usr/sbin/nginx").st_mode & 0o777 == 0o755
    assert os.stat(upper / "tmp").st_mode & 0o7777 == os.stat("/tmp").st_mode & 0o7777
    assert os.stat(upper / "usr").st_mode & 0o777 == os.stat("/usr").st_mode & 0o777
    if os.geteuid() == 0:  # trusted.* attributes need root
        assert os.getxattr(upper / "tmp", "trusted.overlay.opaque") == b"y"
        assert os.getxattr(upper / "usr/share/nginx/html", "trusted.overlay.opaque") == b"y"


# A host where /bin and /var/run are symlinks (merged /usr), with some directories' modes.
HOST_LINKS = {"/bin": "/usr/bin", "/var/run": "/run"}
HOST_MODES = {"/tmp": 0o1777, "/run": 0o755, "/usr": 0o755, "/usr/bin": 0o755, "/srv": 0o750, "/srv/kl": 0o700,
              "/srv/kl/state": 0o700, "/usr/share": 0o755, "/usr/share/nginx": 0o755}


def _realpath(path: str) -> str:
    for link, target in HOST_LINKS.items():
        if path == link or path.startswith(link + "/"):
            return target + path[len(link):]
    return path


@pytest.mark.parametrize(("hidden", "opaque", "files", "dirs", "placed"), [
    (["/tmp"], (), (), [("tmp", 0o1777, True)], []),
    (["/var/run"], (), (), [("run", 0o755, True)], []),  # hidden where the link leads
    (["/srv/kl/state"], (), (), [("srv", 0o750, False), ("srv/kl", 0o700, False), ("srv/kl/state", 0o700, True)],
     []),
    ([], (), ("/bin/sh",), [("usr", 0o755, False), ("usr/bin", 0o755, False)], ["usr/bin/sh"]),
    # an image's opaque directory under one made for a file already: made opaque, in its first place
    ([], ("/usr/share/nginx/html",), ("/usr/share/nginx/html/index.html",),
     [("usr", 0o755, False), ("usr/share", 0o755, False), ("usr/share/nginx", 0o755, False),
      ("usr/share/nginx/html", 0o755, True)], ["usr/share/nginx/html/index.html"]),
    ([], ("/opt/new",), (), [("opt", 0o755, False), ("opt/new", 0o755, True)], []),  # not on the host: 0o755
    ([], (), ("/etc/a", "/etc/a"), [("etc", 0o755, False)], ["etc/a"]),  # given twice: once
])
def test_the_upper_layer_is_planned_where_the_host_resolves_paths(
        hidden: list[str], opaque: tuple[str, ...], files: tuple[str, ...], dirs: list[tuple[str, int, bool]],
        placed: list[str]) -> None:
    image = ImageConfig(reference="x", entrypoint=(), cmd=("sh",), env=(), opaque_dirs=opaque,
                        files=tuple(ImageFile(path, b"x") for path in files))
    plan = plan_upper(image, hidden, realpath=_realpath, mode_of=lambda path: HOST_MODES.get(path, 0o755))
    assert plan.dirs == tuple(UpperDir(*d) for d in dirs)
    assert [path for path, _ in plan.files] == placed


def test_one_plan_writes_the_same_layer_into_every_container(tmp_path: Path) -> None:
    image = ImageConfig(reference="x", entrypoint=(), cmd=("sh",), env=(),
                        files=(ImageFile("/usr/sbin/nginx", b"#!/bin/sh\n", 0o755),), opaque_dirs=("/etc/nginx",))
    plan = plan_upper(image, ["/tmp"])
    layers = [tmp_path / "a", tmp_path / "b"]
    for upper in layers:
        upper.mkdir()
        write_upper(upper, plan)
    listings = [sorted((str(p.relative_to(upper)), p.lstat().st_mode) for p in upper.rglob("*")) for upper in layers]
    assert listings[0] == listings[1]
    assert (layers[1] / "usr/sbin/nginx").read_bytes() == b"#!/bin/sh\n"
    assert os.stat(layers[1] / "tmp").st_mode & 0o7777 == os.stat("/tmp").st_mode & 0o7777


def test_a_shared_dir_is_made_once_and_named_by_its_content(tmp_path: Path) -> None:
    shared = SharedDir("applets", "/opt/x", (ImageFile("sh", symlink="/usr/bin/busybox"),))
    first = ensure_shared_dir(tmp_path, shared)
    assert os.readlink(first / "sh") == "/usr/bin/busybox"
    assert ensure_shared_dir(tmp_path, shared) == first
    other = ensure_shared_dir(tmp_path, SharedDir("applets", "/opt/x", (ImageFile("ls", symlink="/bin/busybox"),)))
    assert other != first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, other.name])
