"""Certificates read the same on any machine: the CJK font comes with the portal's own install
(the noto-cjk-sans-otc package), so a machine with no fonts at all (an empty fontconfig) still
renders Chinese glyphs and does not crash; without that font a certificate fails with a clear
reason instead of printing boxes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.records.test_certificates import needs_poppler

RENDER = """
import sys
from portal import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "TESTING": True})
with app.app_context(), app.test_request_context():
    from portal.records.certificates import warm_up
    if len(sys.argv) > 2:  # the font package gone
        import noto_cjk_sans_otc
        from pathlib import Path
        noto_cjk_sans_otc.FONT_PATH = Path(sys.argv[2])
    pdf = warm_up()
open(sys.argv[1], "wb").write(pdf)
"""


def render_without_system_fonts(tmp_path, *extra) -> subprocess.CompletedProcess:
    conf = tmp_path / "no-fonts.conf"
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
                    f"<fontconfig><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>")
    env = dict(os.environ, FONTCONFIG_FILE=str(conf), FONTCONFIG_PATH=str(tmp_path))
    return subprocess.run([sys.executable, "-c", RENDER, str(tmp_path / "c.pdf"), *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


@needs_poppler
def test_a_certificate_renders_chinese_on_a_machine_without_fonts(tmp_path):
    done = render_without_system_fonts(tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]  # no SIGSEGV inside Pango
    pdf = tmp_path / "c.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "志愿服务记录证明" in "".join(text.split())
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    # One font, ours, embedded: every glyph (Chinese and Latin) comes from it, none is a box.
    assert len(fonts) == 1 and "Portal-CJK" in fonts[0] and " yes " in fonts[0], fonts


def test_without_the_font_a_certificate_fails_with_a_clear_reason(tmp_path):
    done = render_without_system_fonts(tmp_path, str(tmp_path / "gone.ttc"))
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])  # an error, no crash
    assert "FontMissing" in done.stderr and "CJK font" in done.stderr
    assert not (tmp_path / "c.pdf").exists()


def test_a_build_without_the_font_fails_the_certificate_with_the_reason(app, approved,
                                                                       monkeypatch, tmp_path):
    """Inline (the job in this process): the certificate is failed, and says why."""
    if app.config["REDIS_URL"]:
        pytest.skip("the build runs in the worker process, whose font is installed")
    import noto_cjk_sans_otc

    from portal.extensions import db
    from portal.records.models import Certificate
    from tests.faults.test_recovery import lost_certificate, settle

    monkeypatch.setattr(noto_cjk_sans_otc, "FONT_PATH", tmp_path / "gone.ttc")
    vid, _ids = approved
    cert_id, job_id = lost_certificate(app, vid)
    app.test_cli_runner().invoke(args=["jobs", "recover"])
    assert settle(app, job_id).status == "failed"
    with app.app_context():
        cert = db.session.get(Certificate, cert_id)
        assert cert.status.value == "failed" and "CJK font" in cert.error
