"""The worker's long-lived PDF renderer (portal.records.renderer): a process of its own that
makes the PDFs, replaced after so many renders or so much memory, and whose death costs the
job in hand its try (it is run again), never the worker."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from portal.records import renderer


@pytest.fixture(scope="module")
def html():
    """A document with the certificates' bundled font (a machine may have no other)."""
    from portal.records.certificates import cjk_font_url

    font = "@font-face { font-family: CJK; src: url(" + cjk_font_url() + ") }"
    return (f"<html><head><style>{font} body {{ font-family: CJK }}</style></head>"
            "<body><p>志愿服务证明 certificate</p></body></html>")


@pytest.fixture
def started():
    renderer.start(max_renders=1000, max_mb=10_000)
    yield renderer.renderer()
    renderer.stop()


def test_a_pdf_is_made_by_the_renderer_not_here(started, html):
    pid = started.process.pid
    assert pid != os.getpid()
    assert renderer.pdf(html).startswith(b"%PDF")
    assert renderer.pdf(html).startswith(b"%PDF")
    assert started.process.pid == pid  # the same process, PDF after PDF
    assert started.renders == 2


def test_without_a_renderer_a_pdf_is_made_here(html):
    assert renderer.renderer() is None
    assert renderer.pdf(html).startswith(b"%PDF")


def test_the_renderer_is_replaced_after_its_renders(started, html):
    started.max_renders = 2
    first = started.process.pid
    renderer.pdf(html)
    renderer.pdf(html)
    assert (started.process.pid, started.renders) == (first, 2)
    renderer.pdf(html)  # a fresh renderer's first
    assert started.process.pid != first
    assert (started.renders, started.started) == (1, 2)


def test_the_renderer_is_replaced_once_its_memory_passes_the_limit(started, html):
    first = started.process.pid
    started.max_mb = 1  # any process is past it
    renderer.pdf(html)
    assert started.process.pid != first


def test_a_renderer_killed_mid_render_costs_that_try_and_the_next_pdf_is_made(started, html):
    first = started.process.pid
    os.kill(first, signal.SIGSTOP)  # the render will wait on it
    outcome = {}

    def render():
        try:
            outcome["pdf"] = renderer.pdf(html)
        except BaseException as exc:
            outcome["error"] = exc
    asking = threading.Thread(target=render)
    asking.start()
    time.sleep(0.3)  # the document is sent; the answer never comes
    assert asking.is_alive()
    os.kill(first, signal.SIGKILL)  # what the OOM killer does
    asking.join(10)
    assert isinstance(outcome.get("error"), renderer.RendererLost), outcome
    assert renderer.pdf(html).startswith(b"%PDF")
    assert started.process.pid != first


def test_a_document_weasyprint_refuses_fails_without_losing_the_renderer(started, html):
    pid = started.process.pid
    with pytest.raises(renderer.RenderFailed):
        renderer.pdf(object())  # not HTML: WeasyPrint raises in the renderer
    assert started.process.pid == pid
    assert renderer.pdf(html).startswith(b"%PDF")
