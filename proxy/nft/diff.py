"""The `nft -f` transaction from what the table holds to what it should hold (pure).

Only what changed is written: new sets and chains are added, a chain whose rules changed is flushed
and refilled, map elements whose value changed are deleted and added again, and what is no longer
wanted goes last (elements first, then the chains they pointed to, then the sets those chains
used), so that nothing is deleted while something still refers to it. The whole text is one
transaction: the kernel applies all of it or none.
"""

from __future__ import annotations

from proxy.nft.ruleset import FAMILY, TABLE, Desired, NodeContext, skeleton

_T = f"{FAMILY} {TABLE}"


def _element(key: str, value: str) -> str:
    return f"{{ {key} : {value} }}" if value else f"{{ {key} }}"


def transaction(old: Desired, new: Desired) -> list[str]:
    """Commands that turn a table holding `old` into one holding `new` (empty when equal)."""
    commands: list[str] = []
    for name in sorted(new.sets.keys() - old.sets.keys()):
        commands.append(f"add set {_T} {name} {{ type ipv4_addr ; flags dynamic,timeout ; "
                        f"timeout {new.sets[name]}s ; }}")
    for name in sorted(new.chains.keys() - old.chains.keys()):
        commands.append(f"add chain {_T} {name}")
    for name in sorted(new.chains):
        rules = new.chains[name]
        before = old.chains.get(name)
        if before == rules:
            continue
        if before is not None:
            commands.append(f"flush chain {_T} {name}")
        commands += [f"add rule {_T} {name} {rule}" for rule in rules]
    changed = {key for key in old.elements.keys() & new.elements.keys() if old.elements[key] != new.elements[key]}
    for key in sorted((old.elements.keys() - new.elements.keys()) | changed):
        collection, element = key
        commands.append(f"delete element {_T} {collection} {{ {element} }}")
    for key in sorted((new.elements.keys() - old.elements.keys()) | changed):
        collection, element = key
        commands.append(f"add element {_T} {collection} {_element(element, new.elements[key])}")
    gone = sorted(old.chains.keys() - new.chains.keys())
    commands += [f"flush chain {_T} {name}" for name in gone]
    commands += [f"delete chain {_T} {name}" for name in gone]
    commands += [f"delete set {_T} {name}" for name in sorted(old.sets.keys() - new.sets.keys())]
    return commands


def full_load(context: NodeContext, desired: Desired) -> list[str]:
    """Replace whatever table `ip kubelab` holds (a stale one of a killed proxy, or a broken one)
    with the skeleton and `desired`, in one transaction."""
    return [f"add table {_T}", f"delete table {_T}", *skeleton(context), *transaction(Desired(), desired)]


def removal() -> list[str]:
    """Remove the table, whether or not it exists."""
    return [f"add table {_T}", f"delete table {_T}"]


def script(commands: list[str]) -> str:
    return "".join(command + "\n" for command in commands)
