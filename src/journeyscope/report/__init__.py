"""Rendering maps and analysis results: HTML, SVG, PNG, PDF, CSV, Markdown, JSON.

- `render.render` writes a map in any format (`journeyscope render`);
- `map_html.render_map_html` draws the map page (with `measures` for analysis figures and
  `fragment` for embedding), `map_svg.render_map_svg` the standalone SVG;
- `layout.build_view` is the view every renderer draws; `layout.Figure` is one measured figure
  on a touchpoint or stage card;
- `tables` writes the seed's template table (CSV, Markdown) and JSON;
- `chromium` turns pages into PNG and PDF with headless Chromium.
"""

from journeyscope.report.layout import Figure

__all__ = ["Figure"]
