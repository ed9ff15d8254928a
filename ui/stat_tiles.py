"""A row of figures (step, steps/s, ...) that the Train page refreshes twice a second, as one element.

Each ``st.metric`` is an element of its own, laid out in a column of its own, and a fragment's
refresh redraws every element in it, changed or not.  On a bare page refreshed twice a second,
five ``st.metric`` tiles in columns cost the browser 0.09-0.10 of a core; the same row as this
component, 0.05 (a refresh drawing a single line of text: 0.04).  Here the whole row is one
small component: built once, after which a refresh only rewrites the text of the values that
changed.  A tile looks like ``st.metric``:
its label (the help text shows on hovering it), its value below.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import streamlit as st

from ui.live_chart import drawn_at

_CSS = """
.stat-caption { font-size: 0.875rem; opacity: 0.6; margin-bottom: 0.5rem; }
.stat-row { display: grid; gap: 1rem; }
.stat-label { font-size: 0.875rem; }
.stat-label[title], .stat-note[title] { cursor: help; }
.stat-label[title]::after {   /* a small circled "?", as Streamlit marks its help texts */
  content: "?"; display: inline-block; width: 1.1em; height: 1.1em; margin-left: 0.35em; font-size: 0.75em;
  line-height: 1.05em; text-align: center; border: 1px solid currentColor; border-radius: 50%; opacity: 0.5;
}
.stat-value { font-size: 2.25rem; line-height: 1.4; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.stat-note { font-size: 0.875rem; opacity: 0.6; margin-top: 0.25rem; }
"""
_JS = r"""
function build(root, data) {   // the row's structure: made again only when it changes
  root.replaceChildren();
  const add = (parent, tag, cls, text) => {
    const node = Object.assign(document.createElement(tag), {className: cls});
    if (text) node.textContent = text;
    return parent.appendChild(node);
  };
  if (data.caption) add(root, 'div', 'stat-caption', data.caption);
  const row = add(root, 'div', 'stat-row');
  row.style.gridTemplateColumns = data.widths.map(w => `minmax(0, ${w}fr)`).join(' ');
  for (const tile of data.tiles) {
    const box = add(row, 'div', 'stat-tile');
    box.dataset.stat = tile.key;
    const label = add(box, 'div', 'stat-label', tile.label);
    if (tile.help) label.title = tile.help;
    add(box, 'div', 'stat-value');
  }
  for (const [text, help] of data.notes) {
    const note = add(root, 'div', 'stat-note', text);
    if (help) note.title = help;
  }
}
export default function ({data, parentElement}) {
  const root = parentElement.querySelector('.stat-tiles');
  if (Number(root.dataset.at ?? 0) > data.at) return;   // an older refresh, arriving late (ui.live_chart)
  root.dataset.at = data.at;
  const shape = JSON.stringify([data.caption, data.widths, data.notes, data.tiles.map(t => [t.key, t.label, t.help])]);
  if (root.dataset.shape !== shape) {
    build(root, data);
    root.dataset.shape = shape;
  }
  root.querySelectorAll('.stat-value').forEach((node, i) => {
    if (node.textContent !== data.tiles[i].value) node.textContent = data.tiles[i].value;
  });
}
"""
_stat_tiles = st.components.v2.component("stat_tiles", html="<div class='stat-tiles'></div>", css=_CSS, js=_JS,
                                         isolate_styles=False)


class Tile(NamedTuple):
    key: str        # names the tile in the page (``[data-stat=key]``) for tests and scripts
    label: str
    value: str
    help: str = ""


def stat_tiles(tiles: Sequence[Tile], key: str, widths: Sequence[float] | None = None,
               caption: str = "", notes: Sequence[tuple[str, str]] = ()) -> None:
    """Draw (or update in place) a row of tiles, ``widths`` their relative widths (equal by
    default), with an optional caption above and lines of text below (``(text, help)`` each)."""
    _stat_tiles(data={"tiles": [tile._asdict() for tile in tiles], "widths": list(widths or [1] * len(tiles)),
                      "caption": caption, "notes": [list(note) for note in notes], "at": drawn_at()}, key=key)
