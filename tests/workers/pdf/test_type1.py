"""Type 1 programs as LibreOffice embeds them (a CJK font cut into subsets), cut down to some
of their glyphs: the result is a font fontTools reads back whole, holding exactly the glyphs
kept, each byte for byte as LibreOffice wrote it, and an encoding of those only."""

from __future__ import annotations

import io
import random

import pikepdf
import pytest
from fontTools.misc import eexec
from fontTools.t1Lib import T1Font

from tests.helpers.documents import make_docx
from workers.convert.converter import UnoserverConverter
from workers.pdf import type1
from workers.pdf.type1 import Type1Program

# Enough distinct characters for LibreOffice to fill several 255-glyph subsets.
TEXT = "".join(chr(code) for code in range(0x4E00, 0x4E00 + 600))


@pytest.fixture(scope="module")
def programs(converter: UnoserverConverter) -> list[tuple[bytes, int, int]]:
    pdf = converter.convert(make_docx(TEXT), "pdf")
    found = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for font in document.pages[0].Resources.Font.values():
            descriptor = font.get("/FontDescriptor")
            file = None if descriptor is None else descriptor.get("/FontFile")
            if file is not None:
                found.append((file.read_bytes(), int(file.Length1), int(file.Length2)))
    assert len(found) >= 3, "LibreOffice embedded the text in fewer Type 1 subsets than expected"
    return found


def read_back(program: Type1Program, cleartext: bytes, encrypted: bytes) -> T1Font:
    font = T1Font.__new__(T1Font)  # fontTools reads a font from its bytes this way
    font.data, font.encoding = cleartext + encrypted + program.trailer, "ascii"
    font.parse()
    return font


def test_the_keys_decrypt_the_program_as_fonttools_does(
    programs: list[tuple[bytes, int, int]],
) -> None:
    for data, length1, length2 in programs:
        program = Type1Program.read(data, length1, length2)
        assert program is not None
        plain, _ = eexec.decrypt(program.encrypted, 55665)
        keys = program.keys[:-1] >> 8
        assert bytes(c ^ int(k) for c, k in zip(program.encrypted, keys, strict=True)) == plain
        assert len(program.entries) > 1 and ".notdef" in program.entries
        assert set(program.encoding.values()) <= set(program.entries)


@pytest.mark.parametrize("length", [1, 5_000, 70_000, 200_000, type1._POWERS_KEPT + 1])
def test_the_keys_of_any_length_decrypt_as_fonttools_does(length: int) -> None:
    """The powers of the key's multiplier are kept per process for the longest program met:
    shorter ones, longer ones and those past what is kept all decrypt right."""
    encrypted = random.Random(length).randbytes(length)
    keys = type1._eexec_keys(encrypted)
    plain, _ = eexec.decrypt(encrypted, 55665)
    assert bytes(c ^ int(k) for c, k in zip(encrypted, keys[:-1] >> 8, strict=True)) == plain


def test_a_subset_holds_the_kept_glyphs_byte_for_byte_and_nothing_else(
    programs: list[tuple[bytes, int, int]],
) -> None:
    chance = random.Random(9704)
    for data, length1, length2 in programs:
        program = Type1Program.read(data, length1, length2)
        assert program is not None
        whole = read_back(program, program.cleartext, program.encrypted).font["CharStrings"]
        names = [name for name in program.entries if name != ".notdef"]
        for _ in range(8):
            keep = set(chance.sample(names, chance.randint(1, len(names) - 1)))
            parts = program.subset(keep)
            assert parts is not None and len(parts[1]) < len(program.encrypted)
            font = read_back(program, *parts).font
            assert set(font["CharStrings"].keys()) == keep | {".notdef"}
            for name in keep:
                assert font["CharStrings"][name].bytecode == whole[name].bytecode
            # The built-in encoding names the kept glyphs at their codes, and nothing else.
            assert {
                code: name for code, name in enumerate(font["Encoding"]) if name != ".notdef"
            } == {code: name for code, name in program.encoding.items() if name in keep}


def test_subsets_of_one_program_are_what_each_would_be_alone(
    programs: list[tuple[bytes, int, int]],
) -> None:
    """A program read once is cut for every document of its group, which keep mostly the same
    glyphs: the steering comments made for one subset serve the next (the same gaps), and each
    subset is byte for byte what it would be cut from a program read for it alone."""
    chance = random.Random(2612)
    for data, length1, length2 in programs:
        shared = Type1Program.read(data, length1, length2)
        assert shared is not None
        names = [name for name in shared.entries if name != ".notdef"]
        common = set(chance.sample(names, len(names) // 2))
        alone_comments = 0
        for extra in ([], chance.sample(names, 3), chance.sample(names, 7), []):
            keep = common | set(extra)
            alone = Type1Program.read(data, length1, length2)
            assert alone is not None
            assert shared.subset(keep) == alone.subset(keep)
            alone_comments = len(alone.comments)
        assert len(shared.comments) < 2 * alone_comments  # the gaps were mostly the same


def test_codes_name_glyphs_through_the_builtin_encoding(
    programs: list[tuple[bytes, int, int]],
) -> None:
    data, length1, length2 = programs[0]
    program = Type1Program.read(data, length1, length2)
    assert program is not None
    code, name = next(iter(program.encoding.items()))
    assert program.glyph_names({code}) == {name}
    unused = next(c for c in range(256) if c not in program.encoding)
    assert program.glyph_names({code, unused}) is None, "a code without a glyph keeps all"
    assert program.subset(set(program.entries)) is None, "nothing to leave out"


def test_a_program_laid_out_otherwise_is_left_whole(
    programs: list[tuple[bytes, int, int]],
) -> None:
    data, length1, length2 = programs[0]
    hexed = data[length1 : length1 + length2].hex().encode()
    assert Type1Program.read(data[:length1] + hexed, length1, len(hexed)) is None
    assert Type1Program.read(data, length1, length2 // 2) is None  # cut short


def test_only_the_builtin_encoding_names_glyphs(programs: list[tuple[bytes, int, int]]) -> None:
    """A font's name is its maker's text: an encoding entry written inside it is not one."""
    data, length1, length2 = programs[0]
    original = Type1Program.read(data, length1, length2)
    assert original is not None
    unused = next(code for code in range(256) if code not in original.encoding)
    posing = (
        b"/FontInfo 1 dict dup begin /Notice (dup %d /cid1 put) readonly def end def\n" % unused
    )
    at = data.index(b"/Encoding")
    program = Type1Program.read(data[:at] + posing + data[at:], length1 + len(posing), length2)
    assert program is not None and program.encoding == original.encoding
