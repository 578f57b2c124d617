"""The proxy's changes to the node's network: addresses on interfaces, gratuitous ARP, sysctls,
the routing that returns replies to transparent sockets. Each one is undone when the proxy stops."""
