"""The dashboard's chart: orders per day, one line per channel account, as inline SVG (pygal).

Rendered on the server with no script (`js=[]`) and pygal's own CSS inlined, so the page needs
nothing from outside the hub. The SVG is an image (`role="img"`) named by its title; the same
numbers are in the table beside it for anyone who cannot see the chart.
"""

from __future__ import annotations

import re

import pygal
from markupsafe import Markup, escape
from pygal.style import Style

from orderhub.services.dashboard import OrderFigures

#: Dark text on white, and line colours that differ in lightness as well as hue.
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1f24",
    foreground_strong="#1b1f24",
    foreground_subtle="#57606a",
    opacity=".9",
    opacity_hover="1",
    colors=("#0b5cad", "#b35900", "#116329", "#a40e26", "#6639ba", "#0f6e75", "#7d4e00"),
    font_family="system-ui, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    title_font_size=16,
)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
TITLE = "Orders per day, last 30 days (UTC), by channel account"


def orders_chart(figures: OrderFigures) -> Markup:
    """The `<svg>` of orders per day, one series per account, labelled for assistive tech."""
    chart = pygal.Line(
        js=[],
        disable_xml_declaration=True,
        style=STYLE,
        width=960,
        height=380,
        title=TITLE,
        legend_at_bottom=True,
        legend_at_bottom_columns=4,
        truncate_legend=-1,
        truncate_label=-1,
        order_min=0,
        x_label_rotation=0,
        x_labels_major_every=7,
        show_minor_x_labels=False,
        show_dots=False,
        show_y_guides=True,
        no_data_text="No orders",
        include_x_axis=True,
    )
    chart.x_labels = [day.strftime("%d %b") for day in figures.days]
    for series in figures.series:
        chart.add(series.account, series.counts)
    # pygal's script (its tooltips' config) and its comments (URLs) are no use here.
    svg = _COMMENT.sub("", _SCRIPT.sub("", str(chart.render(is_unicode=True))))
    label = escape(f"{TITLE}: " + _summary(figures))
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))


def _summary(figures: OrderFigures) -> str:
    parts = [f"{s.account} {s.total}" for s in figures.series]
    return ("orders in total: " + ", ".join(parts)) if parts else "no orders"
