"""klctl's Service verbs and views against a real API server and controller manager: expose,
create service, get svc/ep/endpointslices, describe svc with its Endpoints line as kubectl writes it.
The test plays the node agent for the pods (bound to a node name, status written through the API)."""

from __future__ import annotations

import asyncio
import re

import pytest

from controlplane.client import ApiClient
from tests.integration.test_endpoints_controllers import start_pod
from tests.support.klctl import Klctl
from tests.support.wait import eventually

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 5
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: kubelab/demo:1
        ports:
        - {name: web, containerPort: 3000}
"""


pytestmark = pytest.mark.usefixtures("controller_manager")  # every test runs beside it


def columns(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


async def test_expose_a_deployment_and_describe_the_service_with_its_endpoints(api: ApiClient, klctl: Klctl) -> None:
    klctl.ok("apply", "-f", klctl.write("web.yaml", DEPLOYMENT))
    assert klctl.ok("expose", "deployment", "web", "--port", "80", "--target-port", "web") == "service/web exposed\n"
    await asyncio.gather(*(start_pod(api, f"web-{n}", f"10.244.1.{10 + n}") for n in range(5)))

    def endpoints_line() -> str:
        found = [line for line in klctl.ok("describe", "svc", "web").splitlines() if line.startswith("Endpoints:")]
        return found[0] if found else ""

    async def listed() -> bool:
        return "+ 2 more..." in await asyncio.to_thread(endpoints_line)

    await eventually(listed, timeout=15, what="the five pods behind the service")
    described = klctl.ok("describe", "svc", "web")
    assert re.search(r"^Endpoints:\s+10\.244\.1\.10:3000,10\.244\.1\.11:3000,10\.244\.1\.12:3000 \+ 2 more\.\.\.$",
                     described, re.M), described
    assert re.search(r"^Selector:\s+app=web$", described, re.M)
    assert re.search(r"^Port:\s+<unset>\s+80/TCP$", described, re.M)
    assert re.search(r"^TargetPort:\s+web/TCP$", described, re.M)
    assert re.search(r"^Session Affinity:\s+None$", described, re.M)
    assert re.search(r"^Events:\s+<none>$", described, re.M)

    rows = columns(klctl.ok("get", "svc", "web", "-o", "wide"))
    assert rows[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    assert rows[1][:2] == ["web", "ClusterIP"] and rows[1][3:5] == ["<none>", "80/TCP"] and rows[1][6] == "app=web"
    endpoints = columns(klctl.ok("get", "ep", "web"))
    assert endpoints[0] == ["NAME", "ENDPOINTS", "AGE"]
    assert endpoints[1][:2] == ["web", "10.244.1.10:3000,10.244.1.11:3000,10.244.1.12:3000 + 2 more..."]
    slices = columns(klctl.ok("get", "endpointslices"))
    assert slices[0] == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    web = next(row for row in slices[1:] if row[0].startswith("web-"))
    assert web[1:3] == ["IPv4", "3000"]
    shown, _, more = web[3].partition(" ")
    assert len(set(shown.split(",")) & {f"10.244.1.{10 + n}" for n in range(5)}) == 3 and more == "+ 2 more..."


def test_create_service_of_each_type(klctl: Klctl) -> None:
    assert klctl.ok("create", "service", "clusterip", "api", "--tcp=80:8080") == "service/api created\n"
    assert klctl.ok("create", "service", "nodeport", "np", "--tcp=80:8080", "--node-port", "30081") == \
        "service/np created\n"
    assert klctl.ok("create", "service", "loadbalancer", "lb", "--tcp=443") == "service/lb created\n"
    assert klctl.ok("create", "service", "externalname", "ext", "--external-name", "db.example.com") == \
        "service/ext created\n"
    assert klctl.ok("create", "svc", "clusterip", "peers", "--clusterip=None") == "service/peers created\n"
    rows = {row[0]: row for row in columns(klctl.ok("get", "svc"))[1:]}
    assert rows["api"][1] == "ClusterIP" and rows["api"][4] == "80/TCP"
    assert rows["np"][1] == "NodePort" and rows["np"][4] == "80:30081/TCP"
    assert rows["lb"][1] == "LoadBalancer" and rows["lb"][3] == "<pending>" and re.fullmatch(r"443:3\d{4}/TCP",
                                                                                            rows["lb"][4])
    assert rows["ext"][1:5] == ["ExternalName", "<none>", "db.example.com", "<none>"]
    assert rows["peers"][1:3] == ["ClusterIP", "None"]
    described = klctl.ok("describe", "svc", "np")
    assert re.search(r"^NodePort:\s+80-8080\s+30081/TCP$", described, re.M), described
    assert re.search(r"^TargetPort:\s+8080/TCP$", described, re.M)


@pytest.mark.parametrize(("args", "message"), [
    (("create", "service", "clusterip", "x"), "error: at least one tcp port specifier must be provided"),
    (("create", "service", "nodeport", "x", "--tcp=80", "--node-port", "80"),
     'Error from server (Invalid): Service "x" is invalid: spec.ports[0].nodePort: Invalid value: 80: '),
    (("expose", "configmap", "settings"), "error: cannot expose a ConfigMap"),
    (("expose", "deployment", "nosuch", "--port", "80"),
     'Error from server (NotFound): deployments.apps "nosuch" not found'),
    (("create", "service", "externalname", "x"), 'the following arguments are required: --external-name'),
])
def test_refusals_are_one_line(klctl: Klctl, args: tuple[str, ...], message: str) -> None:
    klctl.ok("create", "configmap", "settings", "--from-literal", "a=b")
    result = klctl(*args)
    assert result.returncode != 0
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
