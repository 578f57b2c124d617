"""Image names parse and normalize as Kubernetes (distribution/reference) does."""

from __future__ import annotations

import pytest

from agent.images.reference import InvalidReference, parse_reference


@pytest.mark.parametrize(("image", "normalized", "name"), [
    ("nginx", "docker.io/library/nginx:latest", "nginx"),
    ("nginx:1.25", "docker.io/library/nginx:1.25", "nginx"),
    ("docker.io/library/nginx:latest", "docker.io/library/nginx:latest", "nginx"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox"),
    ("kubelab/demo:2", "docker.io/kubelab/demo:2", "kubelab/demo"),
    ("kubelab/demo", "docker.io/kubelab/demo:latest", "kubelab/demo"),
    ("registry.example/kubelab/demo:2", "registry.example/kubelab/demo:2", "registry.example/kubelab/demo"),
    ("localhost:5000/app:v1.2-rc_3", "localhost:5000/app:v1.2-rc_3", "localhost:5000/app"),
    ("localhost/app", "localhost/app:latest", "localhost/app"),
    ("registry.k8s.io/e2e-test-images/busybox:1.29-4", "registry.k8s.io/e2e-test-images/busybox:1.29-4",
     "registry.k8s.io/e2e-test-images/busybox"),
    ("nginx@sha256:" + "a" * 64, "docker.io/library/nginx@sha256:" + "a" * 64, "nginx"),
    ("nginx:1.25@sha256:" + "b" * 64, "docker.io/library/nginx:1.25@sha256:" + "b" * 64, "nginx"),
    ("my_org/my-app__x.y", "docker.io/my_org/my-app__x.y:latest", "my_org/my-app__x.y"),
])
def test_names_normalize_like_kubernetes(image: str, normalized: str, name: str) -> None:
    ref = parse_reference(image)
    assert str(ref) == normalized
    assert ref.name == name


def test_a_port_is_not_a_tag() -> None:
    ref = parse_reference("registry.example:5000/team/app")
    assert (ref.registry, ref.path, ref.tag) == ("registry.example:5000", "team/app", "latest")


@pytest.mark.parametrize(("image", "why"), [
    ("", "invalid reference format"),
    ("Nginx", "invalid reference format: repository name must be lowercase"),
    ("kubelab/Demo:1", "invalid reference format: repository name must be lowercase"),
    ("nginx:", "invalid reference format"),
    ("nginx:-bad", "invalid reference format"),
    ("a//b", "invalid reference format"),
    ("nginx@sha256:short", "invalid reference format"),
    ("-nginx", "invalid reference format"),
    ("nginx latest", "invalid reference format"),
    ("x" * 300, "invalid reference format"),
])
def test_malformed_names_are_refused_with_the_reference_wording(image: str, why: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(image)
    assert str(caught.value).startswith(why)
