"""The offline catalog: which names it runs, what each runs, and Kubernetes' pull errors otherwise."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.images.catalog import (
    BUSYBOX_APPLET_DIR,
    IMAGE_MODULES,
    PYTHON_FLAGS,
    CatalogError,
    HostTools,
    compile_image_modules,
    demo_preset,
    resolve,
)

IMAGES = Path(__file__).resolve().parents[2] / "agent" / "images"

HOST = HostTools(python="/venv/bin/python", python_paths=("/venv", "/opt/python"), images_dir="/pkg/agent/images",
                 busybox="/usr/bin/busybox", busybox_applets=("sh", "wget", "nslookup", "sleep"))


@pytest.mark.parametrize("image", ["nginx", "nginx:1.25", "docker.io/library/nginx:latest", "nginx:1.14.2",
                                   "registry.k8s.io/nginx-slim:0.8", "mirror.gcr.io/library/nginx"])
def test_nginx_of_any_tag_is_the_static_server_on_port_80(image: str) -> None:
    config = resolve(image, HOST)
    assert config.cmd == ("nginx", "-g", "daemon off;")
    assert config.entrypoint == ()
    files = {f.path: f for f in config.files}
    assert b"Welcome to nginx!" in files["/usr/share/nginx/html/index.html"].content
    assert b"listen       80;" in files["/etc/nginx/conf.d/default.conf"].content
    shim = files["/usr/sbin/nginx"]
    assert shim.mode == 0o755
    assert b"exec /venv/bin/python -I -S /pkg/agent/images/static_server.py" in shim.content
    assert "/usr/share/nginx/html" in config.opaque_dirs
    assert set(config.host_paths) >= {"/venv", "/opt/python", "/pkg/agent/images"}


@pytest.mark.parametrize("image", ["busybox", "busybox:1.36", "registry.k8s.io/e2e-test-images/busybox:1.29-4",
                                   "gcr.io/google_containers/busybox"])
def test_busybox_runs_sh_with_its_applets_first_in_path(image: str) -> None:
    config = resolve(image, HOST)
    assert config.cmd == ("sh",)
    env = dict(config.env)
    assert env["PATH"].startswith(BUSYBOX_APPLET_DIR + ":")
    (shared,) = config.shared_dirs
    assert shared.target == BUSYBOX_APPLET_DIR
    assert {f.path: f.symlink for f in shared.files} == {name: "/usr/bin/busybox" for name in HOST.busybox_applets}
    assert [(f.path, f.symlink) for f in config.files] == [("/bin/sh", "/usr/bin/busybox")]


@pytest.mark.parametrize("image", ["busybox:1.28", "busybox:1.28.4", "busybox:1.27.2-glibc", "busybox:1.2"])
def test_busybox_up_to_1_28_gets_the_nslookup_that_follows_the_search_path(image: str) -> None:
    config = resolve(image, HOST)
    (shared,) = config.shared_dirs
    files = {f.path: f for f in shared.files}
    assert {name: f.symlink for name, f in files.items() if name != "nslookup"} == {
        name: "/usr/bin/busybox" for name in HOST.busybox_applets if name != "nslookup"}
    assert files["nslookup"].mode == 0o755 and not files["nslookup"].symlink
    assert b"exec /venv/bin/python -I -S /pkg/agent/images/nslookup128.py" in files["nslookup"].content
    assert set(config.host_paths) >= {"/usr/bin", "/venv", "/pkg/agent/images"}
    assert shared.key != resolve("busybox:1.36", HOST).shared_dirs[0].key  # not mixed with the newer applets


def test_busybox_without_the_binary_is_an_image_pull_error() -> None:
    host = HostTools(python="/p", python_paths=(), images_dir="/i")
    with pytest.raises(CatalogError) as caught:
        resolve("busybox:1.36", host)
    assert caught.value.reason == "ErrImagePull"
    assert "busybox-static" in caught.value.message


@pytest.mark.parametrize(("image", "preset"), [
    ("kubelab/demo", {"VERSION": "1"}),
    ("kubelab/demo:latest", {"VERSION": "1"}),
    ("kubelab/demo:1", {"VERSION": "1"}),
    ("kubelab/demo:2", {"VERSION": "2"}),
    ("kubelab/demo:v3", {"VERSION": "3"}),
    ("kubelab/demo:4.1", {"VERSION": "4.1"}),
    ("registry.example/kubelab/demo:2", {"VERSION": "2"}),
    ("kubelab/demo:slow-boot", {"VERSION": "slow-boot", "BOOT_DELAY": "60"}),
    ("kubelab/demo:unhealthy", {"VERSION": "unhealthy", "UNHEALTHY_AFTER": "20"}),
    ("kubelab/demo:flaky", {"VERSION": "flaky", "HEALTHZ": "flaky", "READYZ": "flaky"}),
    ("kubelab/demo:crash", {"VERSION": "crash", "EXIT_AFTER": "5"}),
    ("kubelab/demo:not-ready", {"VERSION": "not-ready", "READYZ": "never"}),
])
def test_demo_tags_preset_the_apps_behaviour(image: str, preset: dict[str, str]) -> None:
    config = resolve(image, HOST)
    assert config.entrypoint == ("/venv/bin/python", "-I", "-S", "/pkg/agent/images/demo_app.py")
    assert config.cmd == ()
    env = dict(config.env)
    assert env.pop("PORT") == "3000"
    env.pop("PATH")
    assert env == preset


def test_an_unknown_demo_tag_lists_the_tags() -> None:
    assert demo_preset("nope") is None
    with pytest.raises(CatalogError) as caught:
        resolve("kubelab/demo:nope", HOST)
    assert caught.value.reason == "ErrImagePull"
    assert caught.value.message.startswith('Failed to pull image "kubelab/demo:nope": image "kubelab/demo:nope" '
                                           "is not in kubelab's offline image catalog: kubelab/demo has the tags")
    assert "slow-boot" in caught.value.message


def test_an_image_outside_the_catalog_is_err_image_pull_in_kubelet_words() -> None:
    with pytest.raises(CatalogError) as caught:
        resolve("foo:1", HOST)
    assert caught.value.reason == "ErrImagePull"
    assert caught.value.message == ('Failed to pull image "foo:1": image "foo:1" is not in kubelab\'s offline '
                                    "image catalog (nginx, busybox, kubelab/demo:TAG)")


def test_an_unparseable_name_is_invalid_image_name() -> None:
    with pytest.raises(CatalogError) as caught:
        resolve("Nginx:1", HOST)
    assert caught.value.reason == "InvalidImageName"
    assert caught.value.message == ('Failed to apply default image tag "Nginx:1": couldn\'t parse image name '
                                    '"Nginx:1": invalid reference format: repository name must be lowercase')


def test_the_images_modules_are_compiled_once_for_every_container(tmp_path: Path) -> None:
    for name in IMAGE_MODULES:
        shutil.copy(IMAGES / name, tmp_path / name)
    written = compile_image_modules(str(tmp_path))
    assert written == [importlib.util.cache_from_source(str(tmp_path / name)) for name in IMAGE_MODULES]
    # the interpreter the images run with takes that bytecode as it is: importing writes nothing new
    before = {path: Path(path).stat().st_mtime_ns for path in written}
    probe = "import sys; sys.path.insert(0, sys.argv[1]); import tinyhttp; print(tinyhttp.__cached__)"
    result = subprocess.run([sys.executable, *PYTHON_FLAGS, "-c", probe, str(tmp_path)], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == written[0]
    assert {path: Path(path).stat().st_mtime_ns for path in written} == before


def test_modules_that_cannot_be_compiled_are_left_to_the_container(tmp_path: Path) -> None:
    (tmp_path / "tinyhttp.py").write_text("def broken(:\n")
    assert compile_image_modules(str(tmp_path)) == []
    assert compile_image_modules(str(tmp_path / "missing")) == []
