"""The engine: frame + state + time -> alerts, and the contract plugins hook into.

The top of the pure core. Live capture and pcap replay both call ``Engine.handle``;
plugins' I/O runs after it, in the run layer's pipeline.
"""
