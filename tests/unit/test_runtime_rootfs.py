"""The container's root: the mount plan, target resolution inside the root, the upper layer's content."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.images.catalog import ImageConfig, ImageFile, SharedDir
from agent.runtime.interface import Mount
from agent.runtime.nsinit import find_executable, secure_join
from agent.runtime.rootfs import ensure_shared_dir, hidden_dirs, mount_plan, prepare_upper


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


def test_a_shared_dir_is_made_once_and_named_by_its_content(tmp_path: Path) -> None:
    shared = SharedDir("applets", "/opt/x", (ImageFile("sh", symlink="/usr/bin/busybox"),))
    first = ensure_shared_dir(tmp_path, shared)
    assert os.readlink(first / "sh") == "/usr/bin/busybox"
    assert ensure_shared_dir(tmp_path, shared) == first
    other = ensure_shared_dir(tmp_path, SharedDir("applets", "/opt/x", (ImageFile("ls", symlink="/bin/busybox"),)))
    assert other != first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, other.name])
