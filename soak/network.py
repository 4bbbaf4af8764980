# ruff: noqa: S603, S607 - fixed `ip` command lines for our own namespaces
"""Hosts on one machine: a Linux network namespace per host, each joined by a veth pair to one
bridge in the machine's own namespace (where the load driver and the load balancer run).

Addresses come from the loopback range (127.200.0.0/24, `route_localnet` on every interface of
ours), so nothing we make can collide with or reach a real network. A host's cable can be pulled
at the bridge and put back (a partition); everything is removed by `down()`, also after a crash of a
previous run (names are fixed and prefixed `od-`).
"""

import logging
import subprocess
from dataclasses import dataclass

logger = logging.getLogger("soak")

BRIDGE = "od-br0"
PREFIX = "127.200.0"
BRIDGE_ADDRESS = f"{PREFIX}.1"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _sysctl(namespace: str | None, setting: str) -> None:
    argv = ["sysctl", "-qw", setting]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    subprocess.run(argv, capture_output=True, text=True, check=True)


@dataclass(frozen=True)
class Host:
    name: str
    octet: int

    @property
    def namespace(self) -> str:
        return f"od-{self.name}"

    @property
    def address(self) -> str:
        return f"{PREFIX}.{self.octet}"

    @property
    def veth(self) -> str:
        return f"od-{self.name}-h"[:15]

    def argv(self, argv: list[str]) -> list[str]:
        """A command line run inside this host."""
        return ["ip", "netns", "exec", self.namespace, *argv]


class Network:
    def __init__(self, hosts: list[Host]) -> None:
        self.hosts = {host.name: host for host in hosts}

    def up(self) -> None:
        self.down()
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        _sysctl(None, f"net.ipv4.conf.{BRIDGE}.route_localnet=1")
        for host in self.hosts.values():
            _ip("netns", "add", host.namespace)
            _ip("link", "add", host.veth, "type", "veth", "peer", "name", f"{host.veth[:-2]}-n"[:15])
            _ip("link", "set", f"{host.veth[:-2]}-n"[:15], "netns", host.namespace)
            _ip("link", "set", host.veth, "master", BRIDGE)
            _ip("link", "set", host.veth, "up")
            _sysctl(None, f"net.ipv4.conf.{host.veth}.route_localnet=1")
            inside = ["-n", host.namespace]
            _ip(*inside, "link", "set", "lo", "up")
            _ip(*inside, "link", "set", f"{host.veth[:-2]}-n"[:15], "name", "eth0")
            _ip(*inside, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip(*inside, "link", "set", "eth0", "up")
            _sysctl(host.namespace, "net.ipv4.conf.all.route_localnet=1")
            _sysctl(host.namespace, "net.ipv4.conf.eth0.route_localnet=1")
        logger.info("network up: %s", ", ".join(f"{h.name}={h.address}" for h in self.hosts.values()))

    def down(self) -> None:
        for host in self.hosts.values():
            _ip("netns", "del", host.namespace, check=False)  # removes its veth pair too
        _ip("link", "del", BRIDGE, check=False)

    def partition(self, name: str) -> None:
        """The host's cable is pulled at the bridge: its packets are silently dropped both ways,
        and its sockets hang until the link returns or their timeouts fire (as in a real
        partition; taking the host's own eth0 down would instead fail its connects at once)."""
        _ip("link", "set", self.hosts[name].veth, "down")

    def heal(self, name: str) -> None:
        _ip("link", "set", self.hosts[name].veth, "up")
