"""An order's barcode as inline SVG: Code 128 of its id. python-barcode encodes (code sets,
check symbol, start and stop); this draws its modules as bars, sized for print and scaled by
the page, with an accessible name."""

from __future__ import annotations

from itertools import groupby

from barcode import Code128
from markupsafe import Markup, escape

#: Light modules either side, as Code 128 asks (at least ten times the narrowest bar).
QUIET = 10
HEIGHT = 50


def code128_modules(text: str) -> str:
    """The bars of `text` as a string of '1' (dark) and '0' (light) modules."""
    return str(Code128(text).build()[0])


def code128_svg(text: str) -> Markup:
    """`<svg>` with one `<rect>` per bar; 1 unit a module, `QUIET` modules of margin."""
    modules = code128_modules(text)
    bars, x = [], QUIET
    for dark, run in groupby(modules):
        width = len(list(run))
        if dark == "1":
            bars.append(f'<rect x="{x}" y="0" width="{width}" height="{HEIGHT}"/>')
        x += width
    total = len(modules) + 2 * QUIET
    label = escape(f"Barcode (Code 128) of {text}")
    return Markup(
        f'<svg class="barcode" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total} {HEIGHT}" '
        f'width="{total * 2}" height="{HEIGHT * 2}" role="img" aria-label="{label}" '
        f'data-code="{escape(text)}" preserveAspectRatio="none">'
        f'<rect width="{total}" height="{HEIGHT}" fill="#fff"/><g fill="#000">{"".join(bars)}</g>'
        "</svg>"
    )
