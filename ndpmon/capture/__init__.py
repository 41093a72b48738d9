"""Where frames come from and go to: packet sockets with BPF, pcap replay, sending.

The I/O shell below the engine: live capture and replay yield batches of (time, frame)
for the same pipeline; the crafting and sending of frames (countermeasures, ND proxy)
and the interface sysctls live here too.
"""
