"""The controller manager's settings, built from flags and env vars (KUBELAB_CONTROLLER_MANAGER_<FLAG>)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from controlplane.daemon import ConfigError, add_flag
from controlplane.lbpool import AddressPool, PoolError, parse_pool

DAEMON = "CONTROLLER_MANAGER"


@dataclass(frozen=True, slots=True)
class ControllerManagerConfig:
    # The API server, HOST:PORT.
    server: str = "127.0.0.1:6443"
    # Which controllers run ("*" = all of controllermanager/registry.py).
    controllers: tuple[str, ...] = ("*",)
    # Concurrent reconcilers per controller.
    workers: int = 5
    # Addresses for type: LoadBalancer services (controllers/loadbalancer.py); empty: none are given.
    lb_pool: AddressPool = field(default_factory=AddressPool)
    log_level: str = "info"
    log_format: str = "auto"

    def enabled(self, name: str) -> bool:
        return "*" in self.controllers or name in self.controllers


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab controller-manager",
                                description="The kubelab controller manager: the control plane's reconcile loops.")
    d = ControllerManagerConfig()

    def flag(name: str, default: object, help: str, **kwargs: object) -> None:
        add_flag(p, DAEMON, name, default=default, help=help, **kwargs)

    flag("--server", d.server, "API server HOST:PORT")
    flag("--controllers", ",".join(d.controllers), "controllers to run, comma-separated ('*' = all)")
    flag("--workers", d.workers, "concurrent reconcilers per controller", type=int)
    flag("--lb-pool", "", "addresses for LoadBalancer services, e.g. 10.240.0.200-10.240.0.250 (or a CIDR)")
    flag("--log-level", d.log_level, "log level", choices=["debug", "info", "warning", "error"])
    flag("--log-format", d.log_format, "log format", choices=["auto", "json", "console"])
    return p


def from_args(argv: list[str]) -> ControllerManagerConfig:
    from controlplane.controllermanager.registry import CONTROLLERS

    args = parser().parse_args(argv)
    names = tuple(filter(None, (part.strip() for part in str(args.controllers).split(","))))
    unknown = [name for name in names if name != "*" and name not in CONTROLLERS]
    if unknown:
        raise ConfigError(f"--controllers: unknown controller {unknown[0]!r} (known: {', '.join(sorted(CONTROLLERS))})")
    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    try:
        lb_pool = parse_pool(args.lb_pool)
    except PoolError as error:
        raise ConfigError(f"--lb-pool {error}") from None
    return ControllerManagerConfig(server=args.server, controllers=names or ("*",), workers=args.workers,
                                   lb_pool=lb_pool, log_level=args.log_level, log_format=args.log_format)
