"""QR codes for enrolling an authenticator app, as inline SVG (no script, no external image)."""

import segno
from markupsafe import Markup


def qr_svg(data: str) -> Markup:
    """The SVG markup of a QR code for ``data``, safe to place in a template."""
    code = segno.make(data, error="m", micro=False)
    # segno builds the markup from the encoded modules only; nothing of ``data`` is echoed.
    return Markup(code.svg_inline(scale=4, title="QR code", dark="#000", light="#fff"))  # noqa: S704
