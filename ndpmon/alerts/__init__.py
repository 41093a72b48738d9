"""What happens to an alert once raised: the outputs and the threaded delivery.

Actions are small classes with one method, ``notify(alert)`` (console, JSON lines,
alerts.xml, mail, syslog, pipe); ``dispatch`` delivers mail, syslog and pipe off the
capture thread, with ``dedupe`` holding back repeats and floods.
"""
