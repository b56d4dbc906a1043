"""ToUnicode maps: written for some codes and read back; read with bounds whatever they hold."""

from __future__ import annotations

from workers.pdf import to_unicode


def test_a_written_map_reads_back() -> None:
    mapping = {code: chr(0x4E00 + code) for code in range(1, 240)} | {240: "ﬁ", 241: "😀"}
    assert to_unicode.read(to_unicode.write(mapping)) == mapping


def test_ranges_and_arrays_are_read() -> None:
    cmap = (
        b"2 beginbfrange\n<01> <03> <0041>\n<10> <11> [<7532> <4E59>]\nendbfrange\n"
        b"1 beginbfchar\n<20> <0020>\nendbfchar\n"
    )
    assert to_unicode.read(cmap) == {1: "A", 2: "B", 3: "C", 0x10: "甲", 0x11: "乙", 0x20: " "}


def test_hostile_maps_are_read_within_bounds() -> None:
    huge = b"1 beginbfrange\n<00000000> <FFFFFFFF> <0041>\nendbfrange\n"
    assert to_unicode.read(huge) == {}  # one range may not span more than 256 codes
    past_unicode = b"1 beginbfrange\n<00> <FF> <DBFFDFFF>\nendbfrange\n"  # U+10FFFF onwards
    read = to_unicode.read(past_unicode)
    assert read[0] == "\U0010ffff" and read[1] == "\ufffd"
    many = b"".join(
        b"1 beginbfrange\n<%04X> <%04X> <0041>\nendbfrange\n" % (start, start + 255)
        for start in range(0, 0x30000, 256)
    )
    assert len(to_unicode.read(many)) == to_unicode.MAX_CODES
