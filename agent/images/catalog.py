"""kubelab's offline image catalog: what the embedded runtime runs for an image name.

No registry is reachable, so the embedded runtime knows a few images by name and builds each one from
what the host already has (its root filesystem is the container's copy-on-write lower layer):

| image (any registry)            | tags  | runs                                                                    |
|---------------------------------|-------|-------------------------------------------------------------------------|
| `nginx`, `nginx-slim`,          | any   | `nginx -g 'daemon off;'`: a static file server (static_server.py on     |
| `google_containers/nginx-slim`  |       | tinyhttp.py) for /usr/share/nginx/html on port 80, with nginx's         |
|                                 |       | "Welcome to nginx!" index.html; `listen` and `root` from                |
|                                 |       | /etc/nginx/conf.d/*.conf                                                |
| `busybox`,                      | any   | `sh`; PATH starts with /opt/busybox/bin, links to the host's busybox    |
| `google_containers/busybox`,    |       | for each applet (sh, wget, nslookup, sleep, nc...); /bin/sh is busybox  |
| `e2e-test-images/busybox`       |       | Tags up to 1.28 (`busybox:1.28`, as Kubernetes' DNS pages use) get      |
|                                 |       | 1.28's nslookup (nslookup128.py): the search path applies to dotted     |
|                                 |       | names, output as the tutorials show                                     |
| `kubelab/demo`                  | below | demo_app.py: a web app on $PORT (3000) with `/`, `/healthz`, `/readyz`; |
|                                 |       | its behaviour set by env vars                                           |

`kubelab/demo` tags preset env vars (a container's own env wins over them):

| tag                      | preset                                   | what a student sees                           |
|--------------------------|------------------------------------------|-----------------------------------------------|
| `1`, `v1`, `latest`      | VERSION=1                                | healthy, banner "kubelab demo v1"             |
| `2`, `v2` / `3`, `v3`    | VERSION=2 / VERSION=3                    | healthy v2 / v3 (rolling updates)             |
| any `N`, `vN`, `N.M`     | VERSION=N                                | healthy vN                                    |
| `slow-boot`              | BOOT_DELAY=60                            | connection refused for 60 s, then healthy     |
| `unhealthy`              | UNHEALTHY_AFTER=20                       | /healthz answers 500 from 20 s after start    |
| `flaky`                  | HEALTHZ=flaky READYZ=flaky               | both fail 10 s out of every 30 s              |
| `crash`                  | EXIT_AFTER=5                             | exits with code 1 after 5 s                   |
| `not-ready`              | READYZ=never                             | /readyz always 503, /healthz fine             |

The demo's env knobs (demo_app.py has the details): PORT, VERSION, BOOT_DELAY, EXIT_AFTER, EXIT_CODE
(1), HEALTHZ and READYZ (always | never | flaky), READY_AFTER, UNHEALTHY_AFTER, FLAKY_PERIOD (30),
FLAKY_DOWN (10), FLAKY_EVERY (0; N > 0 fails every N-th request instead of the time window).

Names are parsed and normalized as Kubernetes does (`nginx` = `docker.io/library/nginx:latest`);
the registry part is accepted and ignored, so `registry.k8s.io/busybox` and
`registry.example/kubelab/demo:2` work. An unknown repository or demo tag is ErrImagePull, an
unparseable name InvalidImageName, both in the kubelet's words.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from agent.images import nginx_files
from agent.images.reference import ImageReference, InvalidReference, parse_reference

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX_APPLET_DIR = "/opt/busybox/bin"
CATALOG_SUMMARY = "nginx, busybox, kubelab/demo:TAG"

NGINX_PATHS = frozenset({"library/nginx", "nginx", "nginx-slim", "google_containers/nginx-slim"})
BUSYBOX_PATHS = frozenset({"library/busybox", "busybox", "google_containers/busybox", "e2e-test-images/busybox"})
DEMO_PATHS = frozenset({"kubelab/demo"})
# How the Python images run: isolated from the environment and the user's site (-I), and without the
# `site` module (-S): they use the standard library only, and `site` with the .pth files of the
# interpreter's site-packages can cost a start more than the program itself.
PYTHON_FLAGS = ("-I", "-S")
# The modules the Python images import from their own directory (compiled once per node, see
# `compile_image_modules`).
IMAGE_MODULES = ("tinyhttp.py",)

DEMO_PRESETS: dict[str, tuple[tuple[str, str], ...]] = {
    "latest": (("VERSION", "1"),),
    "slow-boot": (("VERSION", "slow-boot"), ("BOOT_DELAY", "60")),
    "unhealthy": (("VERSION", "unhealthy"), ("UNHEALTHY_AFTER", "20")),
    "flaky": (("VERSION", "flaky"), ("HEALTHZ", "flaky"), ("READYZ", "flaky")),
    "crash": (("VERSION", "crash"), ("EXIT_AFTER", "5")),
    "not-ready": (("VERSION", "not-ready"), ("READYZ", "never")),
}
_VERSION_TAG = re.compile(r"v?([0-9]+(?:\.[0-9]+)*)")
_BUSYBOX_VERSION = re.compile(r"([0-9]+)\.([0-9]+)(?![0-9])")


class CatalogError(Exception):
    """The image cannot be provided: `reason` and `message` as the kubelet shows them."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class ImageFile:
    """A file the image adds over the host's root filesystem (written into the container's upper layer)."""

    path: str  # absolute, inside the container
    content: bytes = b""
    mode: int = 0o644
    symlink: str = ""  # when set, a symlink to this instead of a regular file


@dataclass(frozen=True, slots=True)
class SharedDir:
    """A read-only directory shared by every container of an image: made once by the runtime (under
    `key` in its state directory) and bind-mounted at `target`. Cheaper than files in each layer."""

    key: str
    target: str
    files: tuple[ImageFile, ...]  # paths relative to the directory


@dataclass(frozen=True, slots=True)
class ImageConfig:
    reference: str  # normalized: docker.io/library/nginx:1.25
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    working_dir: str = "/"
    files: tuple[ImageFile, ...] = ()
    # Directories whose host content the container must not see: empty (opaque) in its upper layer.
    opaque_dirs: tuple[str, ...] = ()
    # Host directories its programs read; bound read-only when they are not on the root filesystem.
    host_paths: tuple[str, ...] = ()
    shared_dirs: tuple[SharedDir, ...] = ()


@dataclass(frozen=True, slots=True)
class HostTools:
    """What the catalog builds images from."""

    python: str  # interpreter for the Python images (the agent's; they use only its standard library)
    python_paths: tuple[str, ...]  # directories that interpreter needs
    images_dir: str  # this package's directory: demo_app.py, static_server.py and their tinyhttp.py
    busybox: str = ""  # "" = not installed
    busybox_applets: tuple[str, ...] = field(default=())


def discover_host_tools() -> HostTools:
    """Look at this host once (blocking: runs `busybox --list`, compiles the images' modules)."""
    images_dir = str(Path(__file__).resolve().parent)
    compile_image_modules(images_dir)
    python_paths = tuple(dict.fromkeys(
        os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix) if p))
    busybox = shutil.which("busybox") or ""
    applets: tuple[str, ...] = ()
    if busybox:
        busybox = os.path.realpath(busybox)
        listed = subprocess.run([busybox, "--list"], capture_output=True, text=True, timeout=10, check=False)
        applets = tuple(name for name in listed.stdout.split() if re.fullmatch(r"[A-Za-z0-9_.\[-]+", name))
    return HostTools(python=sys.executable, python_paths=python_paths, images_dir=images_dir,
                     busybox=busybox, busybox_applets=applets)


def compile_image_modules(images_dir: str) -> list[str]:
    """Write the bytecode of the images' modules beside them, once per agent, and return what was
    written. A container cannot keep what it compiles (its writes land in its own upper layer, or
    on a read-only bind), so without this every start of a Python image compiles them again.
    Best effort (blocking): a read-only install, with its bytecode made by pip, is left as it is."""
    written = []
    for name in IMAGE_MODULES:
        source = os.path.join(images_dir, name)
        cached = importlib.util.cache_from_source(source)
        try:
            py_compile.compile(source, cfile=cached, doraise=True)  # replaced atomically
        except (OSError, py_compile.PyCompileError):
            continue
        written.append(cached)
    return written


def resolve(image: str, host: HostTools) -> ImageConfig:
    """The catalog image for a name; CatalogError (ErrImagePull, InvalidImageName) when there is none."""
    try:
        ref = parse_reference(image)
    except InvalidReference as error:
        raise CatalogError("InvalidImageName",
                           f'Failed to apply default image tag "{image}": couldn\'t parse image name '
                           f'"{image}": {error}') from None
    if ref.path in NGINX_PATHS:
        return _nginx(ref, host)
    if ref.path in BUSYBOX_PATHS:
        return _busybox(ref, host, image)
    if ref.path in DEMO_PATHS:
        return _demo(ref, host, image)
    raise CatalogError("ErrImagePull", _not_found(image, f"kubelab's offline image catalog ({CATALOG_SUMMARY})"))


def demo_preset(tag: str) -> tuple[tuple[str, str], ...] | None:
    """The env a `kubelab/demo` tag presets, None for a tag the catalog does not have."""
    if tag in DEMO_PRESETS:
        return DEMO_PRESETS[tag]
    match = _VERSION_TAG.fullmatch(tag)
    return (("VERSION", match.group(1)),) if match else None


def _not_found(image: str, where: str) -> str:
    return f'Failed to pull image "{image}": image "{image}" is not in {where}'


def _python_image(host: HostTools) -> tuple[str, ...]:
    return (*host.python_paths, host.images_dir)


def _python_shim(host: HostTools, script: str, comment: str) -> bytes:
    """A /bin/sh script that runs the catalog's `script` (in images_dir) as the Python images run."""
    path = os.path.join(host.images_dir, script)
    return (f"#!/bin/sh\n# kubelab: {comment}\n"
            f'exec {host.python} {" ".join(PYTHON_FLAGS)} {path} "$@"\n').encode()


def _nginx(ref: ImageReference, host: HostTools) -> ImageConfig:
    shim = _python_shim(host, "static_server.py", "nginx is a static file server in this catalog")
    return ImageConfig(
        reference=str(ref),
        entrypoint=(),
        cmd=("nginx", "-g", "daemon off;"),
        env=(("PATH", DEFAULT_PATH), ("NGINX_VERSION", "kubelab")),
        files=(
            ImageFile("/usr/sbin/nginx", shim, 0o755),
            ImageFile("/usr/share/nginx/html/index.html", nginx_files.INDEX_HTML),
            ImageFile("/usr/share/nginx/html/50x.html", nginx_files.ERROR_50X_HTML),
            ImageFile("/etc/nginx/nginx.conf", nginx_files.NGINX_CONF),
            ImageFile("/etc/nginx/conf.d/default.conf", nginx_files.DEFAULT_CONF),
        ),
        opaque_dirs=("/usr/share/nginx/html", "/etc/nginx"),
        host_paths=_python_image(host),
    )


def _busybox(ref: ImageReference, host: HostTools, image: str) -> ImageConfig:
    if not host.busybox:
        raise CatalogError("ErrImagePull", _not_found(
            image, "this node: the catalog builds busybox from the host's busybox binary, which is not "
                   "installed (apt-get install busybox-static)"))
    classic = has_classic_nslookup(ref.tag)
    applets = tuple(ImageFile(name, symlink=host.busybox) for name in host.busybox_applets
                    if not (classic and name == "nslookup"))
    if classic:
        shim = _python_shim(host, "nslookup128.py", "busybox 1.28's nslookup (through the resolv.conf search path)")
        applets += (ImageFile("nslookup", content=shim, mode=0o755),)
    shared = SharedDir(key="busybox-1.28-applets" if classic else "busybox-applets", target=BUSYBOX_APPLET_DIR,
                       files=applets)
    return ImageConfig(
        reference=str(ref),
        entrypoint=(),
        cmd=("sh",),
        env=(("PATH", f"{BUSYBOX_APPLET_DIR}:{DEFAULT_PATH}"),),
        files=(ImageFile("/bin/sh", symlink=host.busybox),),
        host_paths=(os.path.dirname(host.busybox), *(_python_image(host) if classic else ())),
        shared_dirs=(shared,),
    )


def has_classic_nslookup(tag: str) -> bool:
    """busybox up to 1.28 resolved through the C library (search path and ndots apply); 1.29 and later
    have their own resolver, as the host's busybox does. Kubernetes' DNS pages use `busybox:1.28`."""
    match = _BUSYBOX_VERSION.match(tag)
    return match is not None and (int(match.group(1)), int(match.group(2))) <= (1, 28)


def _demo(ref: ImageReference, host: HostTools, image: str) -> ImageConfig:
    preset = demo_preset(ref.tag or "latest")
    if preset is None:
        tags = ", ".join(["1", "2", "3", "vN", *sorted(DEMO_PRESETS)])
        raise CatalogError("ErrImagePull", _not_found(
            image, f"kubelab's offline image catalog: kubelab/demo has the tags {tags}"))
    app = os.path.join(host.images_dir, "demo_app.py")
    return ImageConfig(
        reference=str(ref),
        entrypoint=(host.python, *PYTHON_FLAGS, app),
        cmd=(),
        env=(("PATH", DEFAULT_PATH), ("PORT", "3000"), *preset),
        host_paths=_python_image(host),
    )
