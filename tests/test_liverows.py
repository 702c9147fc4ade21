"""The live rows' shape: no padding cells, exact reflow counts, at most half the pane."""

from __future__ import annotations

from chatcli.liverows import fill_to_end, live_room, reflowed_rows
from tests.render_helpers import Terminal


def test_a_coloured_padding_becomes_an_erase_in_its_colour() -> None:
    line = "\x1b[40m \x1b[0m\x1b[97;40mx = 1\x1b[0m\x1b[40m" + " " * 40 + "\x1b[0m"
    assert fill_to_end(line) == "\x1b[40m \x1b[0m\x1b[97;40mx = 1\x1b[0m\x1b[40m\x1b[K\x1b[0m"
    assert fill_to_end("plain text") == "plain text"
    assert fill_to_end("\x1b[1mbold\x1b[0m") == "\x1b[1mbold\x1b[0m"


def test_the_erase_paints_what_the_spaces_did() -> None:
    padded = "\x1b[44mcode\x1b[0m\x1b[44m" + " " * 16 + "\x1b[0m"
    shown = []
    for line in (padded, fill_to_end(padded)):
        term = Terminal(20, 3)
        term.feed(line)
        shown.append([(c.data, c.bg) for c in term.screen.buffer[0].values()])
    assert shown[0] == shown[1]


def test_reflowed_rows_counts_wide_characters_whole() -> None:
    assert reflowed_rows("x" * 100, 100) == 1
    assert reflowed_rows("x" * 100, 99) == 2
    assert reflowed_rows("\x1b[40mx" * 10 + "\x1b[K\x1b[0m", 5) == 2
    assert reflowed_rows("x" * 98 + "表", 99) == 2  # the wide character goes to the next row
    assert reflowed_rows("x" * 97 + "表", 99) == 1


def test_the_live_region_takes_at_most_half_the_pane() -> None:
    assert [live_room(h) for h in (1, 2, 3, 12, 24, 40)] == [0, 1, 1, 5, 11, 19]
