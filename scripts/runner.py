#!/usr/bin/env python3
"""
runner.py - `otelpreload run` when no collector is configured: run CMD as a
child with the library preloaded and the file exporter on, then draw the
traces it produced.

usage: runner.py -- CMD [ARGS...]
   (scripts/otelpreload runs it; never preload the library into it)

Environment in: OTELPRELOAD_RUN_PRELOAD, the LD_PRELOAD value for CMD
(this process runs without one). Everything else is passed on to CMD.

What it does:
  1. creates the span file ${TMPDIR:-/tmp}/otelpreload-<pid>.jsonl (0600,
     O_EXCL, so nothing already there is followed or appended to; another
     name from mkstemp if taken) and says so on stderr;
  2. starts CMD with LD_PRELOAD, OTEL_TRACES_EXPORTER=file and
     OTELPRELOAD_FILE set; CMD's children inherit them and append to the
     same file (the exporter writes whole lines under flock);
  3. forwards SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2 sent to
     this process to CMD; a signal the terminal sent (Ctrl-C, Ctrl-\\, hang
     up: si_code SI_KERNEL) went to the whole foreground process group, so
     it is passed on only when CMD has left that group (e.g. `timeout`
     makes its own), never twice. A signal ignored
     when this process started stays ignored for CMD, as a shell would have
     it;
  4. when CMD ends, prints the waterfall of the file's traces on stderr (so
     CMD's stdout stays clean), or "no spans", and where the file is;
  5. exits with CMD's status, or 128+N when CMD was killed by signal N
     (127: CMD not found, 126: not executable).

The file is kept when it holds spans (`otelpreload view FILE` draws it
again) and removed when empty.
"""

import errno
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import waterfall  # noqa: E402

FORWARD = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM,
           signal.SIGUSR1, signal.SIGUSR2)
FROM_TTY = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)
SI_KERNEL = 0x80
LAST = 50   # traces drawn at most; the rest are counted


def say(msg):
    sys.stderr.write("otelpreload: %s\n" % msg)
    sys.stderr.flush()


def span_file():
    d = os.environ.get("TMPDIR") or "/tmp"
    path = os.path.join(d, "otelpreload-%d.jsonl" % os.getpid())
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        return path
    except FileExistsError:
        fd, path = tempfile.mkstemp(prefix="otelpreload-%d-" % os.getpid(), suffix=".jsonl", dir=d)
        os.close(fd)
        return path


def spawn(argv, env, mask):
    """Start argv[0] (searched in PATH) with env and signal mask `mask`;
    SIGPIPE and SIGXFSZ back to default (Python ignores them). Returns the
    pid, or raises OSError."""
    dfl = (signal.SIGPIPE, signal.SIGXFSZ)
    try:
        return os.posix_spawnp(argv[0], argv, env, setsigmask=mask, setsigdef=dfl)
    except OSError as e:
        if e.errno != errno.ENOEXEC:
            raise
    # a script without "#!": run it with sh, as a shell would
    return os.posix_spawnp("/bin/sh", ["/bin/sh"] + argv, env, setsigmask=mask, setsigdef=dfl)


def same_group(pid):
    """True when pid is in this process's process group: a signal the
    terminal sent to the group has reached it already."""
    try:
        return os.getpgid(pid) == os.getpgrp()
    except OSError:
        return True


def wait_child(pid, sigs):
    """Wait for pid while forwarding sigs (blocked by the caller); returns
    its wait status."""
    waitset = set(sigs) | {signal.SIGCHLD}
    while True:
        info = signal.sigwaitinfo(waitset)
        if info.si_signo == signal.SIGCHLD:
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                return status
            continue
        if info.si_code == SI_KERNEL and info.si_signo in FROM_TTY and same_group(pid):
            continue
        try:
            os.kill(pid, info.si_signo)
        except ProcessLookupError:
            pass


def main(argv):
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.stderr.write("usage: runner.py -- CMD [ARGS...]\n")
        return 2
    env = dict(os.environ)
    preload = env.pop("OTELPRELOAD_RUN_PRELOAD", "")
    try:
        path = span_file()
    except OSError as e:
        say("cannot create a span file in %s: %s" % (os.environ.get("TMPDIR") or "/tmp",
                                                       e.strerror or e))
        return 125
    env.update(OTEL_TRACES_EXPORTER="file", OTELPRELOAD_FILE=path)
    if preload:
        env["LD_PRELOAD"] = preload
    say("no collector configured: spans go to %s" % path)

    sigs = [s for s in FORWARD if signal.getsignal(s) != signal.SIG_IGN]
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs + [signal.SIGCHLD])
    try:
        pid = spawn(argv, env, old)
    except OSError as e:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        say("%s: %s" % (argv[0], e.strerror or e))
        _drop_if_empty(path)
        return 127 if e.errno == errno.ENOENT else 126
    status = wait_child(pid, sigs)
    signal.pthread_sigmask(signal.SIG_SETMASK, old)
    rc = os.waitstatus_to_exitcode(status)
    rc = 128 - rc if rc < 0 else rc

    # A Ctrl-C now stops the drawing; the exit status stays CMD's.
    try:
        sys.stderr.write("\n")
        waterfall.view([path], out=sys.stderr, err=sys.stderr, last=LAST, missing_ok=True)
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    if not _drop_if_empty(path):
        say("spans kept in %s (draw them again: otelpreload view %s)" % (path, path))
    return rc


def _drop_if_empty(path):
    """Remove path when it holds nothing; True when it is gone."""
    try:
        if os.path.getsize(path) == 0:
            os.unlink(path)
            return True
    except OSError:
        return True
    return False


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
