"""The codec: frame bytes to ND messages, and the text forms of addresses.

The first stage of the flow and the bottom of the pure core: ``decode(frame)`` never
raises and runs in linear time; every length in a packet is checked before use. Nothing
here reads a clock, a socket or a file.
"""
