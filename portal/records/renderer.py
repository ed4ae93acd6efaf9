"""The worker's PDF renderer: one long-lived process beside the worker turns a certificate's
HTML into its PDF, so that a certificate costs its layout and little else. Before, RQ forked a
work horse per certificate, which then opened its own database connection and did its own
bookkeeping: about 0.6 s of each job, beside 0.18 s of layout.

A render that crashes (WeasyPrint or a library under it dies, the OOM killer picks the
renderer) takes only the renderer with it. The certificate's job gives its try back
(`RendererLost`, a `jobs.TryAgain`): its lease runs out at once and the recovery queues it
again, as for a killed work horse (issue 7), a bounded number of times. The next render
starts a fresh renderer. A renderer is also replaced after CERTIFICATE_RENDERER_MAX_RENDERS
renders, or once its memory passes CERTIFICATE_RENDERER_MAX_MB, so that nothing WeasyPrint
keeps can pile up over thousands of certificates.

The renderer is started by `multiprocessing`'s fork server: a clean process with WeasyPrint
already imported. It inherits neither the worker's threads nor its database and Redis
connections. Anywhere else (inline jobs, a command, tests without a worker) a PDF is made in
the calling process, as before.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time

from portal.core.jobs import TryAgain

log = logging.getLogger(__name__)

_context = None  # the fork server's context, made by `start`
_renderer: Renderer | None = None  # this process's, once `start` ran (the worker only)
_owner: int | None = None  # the process that started it (a fork of it must not use its pipe)


class RendererLost(TryAgain):
    """The renderer died during a render: this try is given back, to be run again."""


class RenderFailed(RuntimeError):
    """WeasyPrint raised (a fault of the document, not of the process): the job fails."""


def _serve(conn) -> None:
    """The renderer's loop: an HTML string in, (True, PDF bytes) or (False, the error) out,
    until the worker closes its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the worker decides
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    # One font configuration for every document: otherwise each reads the 20 MB CJK font of
    # its @font-face again, copies it to a folder of its own and adds it to a fresh fontconfig
    # configuration, and the renderer grew by 0.5 MiB a certificate (1.2 GiB after 2,000).
    fonts = FontConfiguration()
    while True:
        try:
            html = conn.recv()
        except (EOFError, OSError):
            return  # the worker is gone
        try:
            pdf = weasyprint.HTML(string=html).write_pdf(font_config=fonts)
        except Exception as exc:  # reported to the job, which fails for good
            conn.send((False, f"{type(exc).__name__}: {exc}"))
        else:
            conn.send((True, pdf))


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class Renderer:
    def __init__(self, max_renders: int, max_mb: int):
        self.max_renders, self.max_mb = max_renders, max_mb
        self.process = self.conn = None
        self.renders = self.started = 0

    def _start(self) -> None:
        parent, child = _context.Pipe()
        process = _context.Process(target=_serve, args=(child,), daemon=True,
                                   name="portal certificate renderer")
        process.start()
        child.close()
        self.process, self.conn, self.renders = process, parent, 0
        self.started += 1

    def stop(self) -> None:
        if self.process is None:
            return
        self.conn.close()  # the renderer's recv ends: it exits by itself
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.process = self.conn = None

    def _fresh_enough(self) -> bool:
        return self.process is not None and self.process.is_alive() \
            and self.renders < self.max_renders and rss_mb(self.process.pid) < self.max_mb

    def pdf(self, html: str) -> bytes:
        if not self._fresh_enough():
            self.stop()
            self._start()
        try:
            self.conn.send(html)
            ok, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.process.join(1)
            code = self.process.exitcode
            self.stop()
            log.error("the certificate renderer died mid-render (exit %s); the job is given "
                      "back to be tried again", code)
            raise RendererLost(f"the PDF renderer died (exit {code})") from exc
        except BaseException:
            # Interrupted while waiting (the job's timeout, a stop): this renderer's answer
            # would reach the next job, so it goes.
            self.stop()
            raise
        self.renders += 1
        if not ok:
            raise RenderFailed(value)
        return value


def start(max_renders: int, max_mb: int) -> None:
    """Make this process (the worker) render PDFs through a long-lived renderer. Call before
    the worker's threads start: the fork server is started from here."""
    global _context, _renderer, _owner
    _context = multiprocessing.get_context("forkserver")
    _context.set_forkserver_preload(["weasyprint", "portal.records.renderer"])
    _renderer, _owner = Renderer(max_renders, max_mb), os.getpid()
    t0 = time.perf_counter()
    _renderer._start()
    log.info("certificate renderer started in %.1f s", time.perf_counter() - t0)


def stop() -> None:
    """Stop this process's renderer, if any: PDFs are then made right here again."""
    global _renderer
    if _renderer is not None:
        _renderer.stop()
        _renderer = None


def pdf(html: str) -> bytes:
    """The PDF of an HTML document: by the renderer where this process started one (the
    worker), else right here (a work horse forked from the worker included: the renderer's
    pipe is its parent's)."""
    if _renderer is not None and _owner == os.getpid():
        return _renderer.pdf(html)
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()


def renderer() -> Renderer | None:
    return _renderer
