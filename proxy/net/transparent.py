"""Replies to transparent sockets (userspace mode, `externalTrafficPolicy: Local`).

To keep the client's address, the userspace proxy connects to the endpoint *from the client's
address* (IP_TRANSPARENT). The endpoint's reply is addressed to the client, so the node would
forward it away; a packet that belongs to one of the proxy's transparent sockets is instead marked
and routed to the local stack (the usual TPROXY arrangement):

    table ip kubelab:  prerouting (mangle) socket transparent 1 -> meta mark |= MARK
    ip rule:           fwmark MARK/MARK lookup TABLE (priority RULE_PRIORITY)
    table TABLE:       local 0.0.0.0/0 dev lo

All of it is made at start (after removing what a killed proxy left) and removed at stop.
"""

from __future__ import annotations

from agent.network.cmd import CommandError, ip, run
from proxy.nft.ruleset import FAMILY, TABLE

MARK = "0x100000"
ROUTE_TABLE = "107"  # "k"; the agent's routes use 107 as their protocol in the main table
RULE_PRIORITY = "10700"


def rules() -> str:
    t = f"{FAMILY} {TABLE}"
    return (f"add table {t}\ndelete table {t}\n"
            f'add table {t} {{ comment "rules of the kubelab proxy (userspace mode)" ; }}\n'
            f"add chain {t} transparent-replies {{ type filter hook prerouting priority -150 ; policy accept ; }}\n"
            f"add rule {t} transparent-replies meta l4proto {{ tcp, udp }} socket transparent 1 "
            f"meta mark set mark or {MARK}\n")


async def setup() -> None:
    await teardown()
    await run(("nft", "-f", "-"), stdin=rules())
    await ip("rule", "add", "fwmark", f"{MARK}/{MARK}", "lookup", ROUTE_TABLE, "pref", RULE_PRIORITY)
    await ip("route", "replace", "local", "0.0.0.0/0", "dev", "lo", "table", ROUTE_TABLE)


async def teardown() -> None:
    await run(("nft", "-f", "-"), stdin=f"add table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n")
    while True:
        try:
            await ip("rule", "del", "pref", RULE_PRIORITY)
        except CommandError:
            break
    try:
        await ip("route", "flush", "table", ROUTE_TABLE)
    except CommandError as error:
        if "FIB table does not exist" not in error.stderr and "No such" not in error.stderr:
            raise
