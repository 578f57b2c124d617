"""kubelab's gossip cluster: SWIM membership with the Lifeguard refinements, over UDP and TCP on
port 7946, sealed with AES-GCM. A library the agent runs (and `kubelab gossip` runs on its own).

    config.py      every knob, with its default and why
    state.py       the pure state machine: members, incarnations, probes, suspicion, what to send
    suspicion.py   one suspicion timer and its confirmations
    awareness.py   the local health score
    broadcast.py   the queue of news piggybacked on packets
    messages.py    the wire format
    keyring.py     keys and AES-GCM sealing
    transport.py   UDP and TCP sockets
    memberlist.py  the async host: feeds the state machine from the transport and the clock
"""
