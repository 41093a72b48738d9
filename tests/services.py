"""Real peers for tests, shared by the delivery and the live end-to-end tests.

``rsyslog`` is a private rsyslogd (Debian's) on its own socket writing to its own file,
so a test reads exactly the line a syslog filter of the admin would see; ``wait_for``
polls for what a daemon does asynchronously, with a generous limit and no timing asserts.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from needs import need_tool

__all__ = ["rsyslog", "rsyslog_stream", "wait_for", "RSYSLOG_CONF", "STREAM_INPUT"]


def wait_for(predicate, timeout: float = 20.0) -> None:
    """Poll ``predicate`` until true; fail after a generous ``timeout``."""
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.05)



RSYSLOG_CONF = """\
global(workDirectory="{tmp}")
{input}
template(name="fields" type="string"
         string="%syslogfacility-text%.%syslogseverity-text%|%syslogtag%|%msg%|\\n")
action(type="omfile" file="{out}" template="fields")
"""
#: /dev/log's kind: a datagram socket (imuxsock).
DGRAM_INPUT = """\
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" CreatePath="on")"""
#: A stream socket (imptcp on a UNIX path), framed as glibc's syslog(3) sends over one:
#: a record ends with a NUL, or with a newline (imptcp's own delimiter).
STREAM_INPUT = """\
module(load="imptcp")
input(type="imptcp" path="{sock}" unlink="on" AddtlFrameDelimiter="0")"""


@pytest.fixture
def rsyslog(tmp_path):
    """A private rsyslogd listening on the datagram socket ``tmp_path/log.sock`` (as
    /dev/log); yields (socket, out.log)."""
    yield from _rsyslogd(tmp_path, DGRAM_INPUT)


@pytest.fixture
def rsyslog_stream(tmp_path):
    """A private rsyslogd listening on the stream socket ``tmp_path/log.sock`` (imptcp);
    yields (socket, out.log)."""
    yield from _rsyslogd(tmp_path, STREAM_INPUT)


def _rsyslogd(tmp_path, source: str):
    rsyslogd = need_tool("rsyslogd")["rsyslogd"]
    sock, out, conf = tmp_path / "log.sock", tmp_path / "out.log", tmp_path / "rsyslog.conf"
    conf.write_text(RSYSLOG_CONF.format(tmp=tmp_path, out=out,
                                        input=source.format(sock=sock)))
    check = subprocess.run([rsyslogd, "-N1", "-f", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([rsyslogd, "-n", "-f", str(conf), "-i", str(tmp_path / "pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: sock.exists() or proc.poll() is not None)
        assert proc.poll() is None, "rsyslogd exited"
        yield str(sock), out
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


