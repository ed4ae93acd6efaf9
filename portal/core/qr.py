"""QR codes as SVG (check-in links, certificates' verification links): no images from outside."""

from __future__ import annotations

import io


def qr_svg(url: str) -> bytes:
    import qrcode
    import qrcode.image.svg

    stream = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(stream)
    return stream.getvalue()
