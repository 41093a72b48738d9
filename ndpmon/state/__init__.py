"""What ndpmon remembers about each link: the pure, per-probe state the checks read and
change, and what learning mode makes of Router Advertisements.

``probe.ProbeState`` holds one probe's state and takes its config with ``configure``;
``neighbors`` is the neighbour cache, ``fragments``, ``rates`` and ``proxies`` the
memories of the fragment, flood and ND-proxy checks, ``learn`` learning mode. Nothing
here does I/O or reads a clock: time is passed in.
"""
