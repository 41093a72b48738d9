"""The files ndpmon keeps: neighbor_list.xml, alerts.xml, and the OUI databases.

Each format has one owner module that writes it, reads it back and renders it, in
NDPMon 2.1's layout (doc/COMPATIBILITY.md), through ndpmon.files' safe reader and
atomic writer.
"""
