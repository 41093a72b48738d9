"""The ND proxy (npd6's job): its settings and its pure answer decision.

``npd6conf`` reads npd6.conf or the plugin's params; ``decide`` says whether and how to
answer one Neighbor Solicitation. The plugin plugins/ndproxy.py does the sending.
"""
