"""Embedded Type 1 font programs cut down to the glyphs one document draws, without
re-encrypting what is kept.

LibreOffice (25.2, as 7.4 before it) embeds the CJK fonts (OpenType/CFF, such as Noto CJK) as
Type 1 subsets of up to 255 glyphs each, their private part encrypted with eexec. A document cut from a combined
conversion references those subsets with the glyphs of its whole group in them; dropping the
other documents' glyphs means leaving their CharStrings entries out of the private part.

eexec chains: each byte's key is made from all the ciphertext before it, so leaving anything out
garbles every byte after it unless the rest is encrypted again, which in Python (fontTools'
t1Lib) costs about half a microsecond a byte: 100-300 ms for one document's fonts, more than
combining the conversions saves. So nothing kept is encrypted again. The kept entries stay byte
for byte as LibreOffice wrote them (and so do the glyph outlines and hints inside them); where
entries were left out, a PostScript comment is written (``%`` and, most often, three letters or
digits) whose bytes bring the cipher's key back to the one the next kept entry was encrypted
with, and that entry's own leading newline ends the comment. A comment between two dictionary
entries is plain PostScript (PLRM 3.2.2); poppler, PDFium and MuPDF (through FreeType),
pdf.js and Ghostscript draw such a font as LibreOffice wrote it.

The keys over a whole program come from one vectorised pass: the key recurrence
``r' = (c + r) * 52845 + 22719 mod 2**16`` is affine in ``r`` for known ciphertext ``c``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

# eexec (Adobe Type 1 Font Format, 7.2).
_KEY = 55665
_C1 = 52845
_C2 = 22719
_MASK = 0xFFFF
_C1_INVERSE = pow(_C1, -1, 1 << 16)
_C1_16, _C2_16 = np.uint16(_C1), np.uint16(_C2)
# What a steering comment's free bytes decrypt to.
_ALNUM_BYTES = np.frombuffer(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", np.uint8
).astype(np.uint16)
_ALNUM = np.zeros(256, bool)
_ALNUM[_ALNUM_BYTES] = True

_ENCODING_ENTRY = re.compile(rb"dup\s+(\d+)\s*/([^\s/\[\]{}()<>%]+)\s+put")
# The built-in encoding: from its line to the ``def`` that ends it. The last such line, so that
# a font name in /FontInfo (which comes before it, and is the font maker's text) cannot pose
# as one.
_ENCODING = re.compile(rb"^/Encoding\s+\d+\s+array\s*$.*?\bdef\b", re.M | re.S)
_CHARSTRINGS = re.compile(rb"/CharStrings\s+\d+\s+dict\s+dup\s+begin")
# One CharStrings entry: "/name length RD <length bytes> ND" (RD and ND may be spelt "-|" "|-").
_ENTRY_HEAD = re.compile(rb"\s*/([^\s/\[\]{}()<>%]+)\s+(\d+)\s+\S+ ")
_ENTRY_TAIL = re.compile(rb"\s*\S+")


@dataclass(frozen=True)
class Type1Program:
    """A font program as embedded in a PDF (FontFile: cleartext, eexec part, trailer), read
    once and subset for as many documents as share it."""

    cleartext: bytes
    encrypted: bytes
    trailer: bytes
    encoding: dict[int, str]  # the program's built-in encoding: code -> glyph name
    keys: np.ndarray  # eexec key before each encrypted byte, and after the last
    entries: dict[str, tuple[int, int]]  # glyph name -> span in ``encrypted``
    charstrings_end: int  # where the text after the last entry starts
    encoding_span: tuple[int, int]  # where the built-in encoding is in ``cleartext``
    # The built-in encoding cut into its entries (glyph name, text) and the text between them
    # (None, text), so that each subset joins the pieces it keeps.
    encoding_pieces: tuple[tuple[str | None, bytes], ...]
    # Steering comments made for this program's subsets, by (key, target): the documents of a
    # group keep mostly the same glyphs, so seven gaps in ten recur from one to the next.
    comments: dict[tuple[int, int], bytes] = field(default_factory=dict, compare=False)

    @classmethod
    def read(cls, program: bytes, length1: int, length2: int) -> Type1Program | None:
        """The program, or None when it is not laid out as this module expects (hex eexec,
        no CharStrings, entries not each on their own line): such a font is kept whole."""
        cleartext = program[:length1]
        encrypted = program[length1 : length1 + length2]
        if len(encrypted) != length2 or length2 < 4 or _is_hex(encrypted[:4]):
            return None
        keys = _eexec_keys(encrypted)
        plain = (np.frombuffer(encrypted, np.uint8) ^ (keys[:-1] >> 8).astype(np.uint8)).tobytes()
        start = _CHARSTRINGS.search(plain)
        if start is None:
            return None
        entries: dict[str, tuple[int, int]] = {}
        position = start.end()
        while (head := _ENTRY_HEAD.match(plain, position)) is not None:
            binary_end = head.end() + int(head.group(2))
            tail = _ENTRY_TAIL.match(plain, binary_end)
            if tail is None or plain[position : position + 1] not in (b"\n", b"\r"):
                return None  # an entry not on a line of its own: no place for a comment
            entries[head.group(1).decode("latin-1")] = (position, tail.end())
            position = tail.end()
        if not entries or plain[position : position + 1] not in (b"\n", b"\r"):
            return None
        spans = [found.span() for found in _ENCODING.finditer(cleartext)]
        if not spans:
            return None
        encoding_span = spans[-1]
        encoding: dict[int, str] = {}
        pieces: list[tuple[str | None, bytes]] = []
        at = encoding_span[0]
        for entry in _ENCODING_ENTRY.finditer(cleartext, *encoding_span):
            name = entry[2].decode("latin-1")
            encoding[int(entry[1])] = name
            pieces += [(None, cleartext[at : entry.start()]), (name, entry[0])]
            at = entry.end()
        pieces.append((None, cleartext[at : encoding_span[1]]))
        return cls(
            cleartext,
            encrypted,
            program[length1 + length2 :],
            encoding,
            keys,
            entries,
            position,
            encoding_span,
            tuple(pieces),
        )

    def glyph_names(self, codes: Collection[int]) -> set[str] | None:
        """The glyphs ``codes`` draw through the built-in encoding, or None if one of them
        names no glyph of the program (nothing may then be left out)."""
        names = {self.encoding.get(code) for code in codes}
        if None in names or not names <= self.entries.keys():
            return None
        return names  # type: ignore[return-value]

    def subset(self, keep: Collection[str]) -> tuple[bytes, bytes] | None:
        """The cleartext and eexec parts with only ``keep`` (and .notdef) among the CharStrings
        entries and in the built-in encoding, or None when every entry is kept. (The encoding's
        255 entries, about 6 KB, are most of the cleartext.)"""
        kept = [span for name, span in self.entries.items() if name in keep or name == ".notdef"]
        if len(kept) == len(self.entries):
            return None
        start, end = self.encoding_span
        encoding = b"".join(
            text for name, text in self.encoding_pieces if name is None or name in keep
        )
        cleartext = self.cleartext[:start] + encoding + self.cleartext[end:]
        first_entry = min(start for start, _ in self.entries.values())
        spans = [(0, first_entry), *kept, (self.charstrings_end, len(self.encrypted))]
        runs = [list(spans[0])]  # the stretches of kept text
        for start, end in spans[1:]:
            if start == runs[-1][1]:
                runs[-1][1] = end
            else:
                runs.append([start, end])
        gaps = list(itertools.pairwise(runs))
        steering = [
            (int(self.keys[previous_end]), int(self.keys[start]))
            for (_, previous_end), (start, _) in gaps
        ]
        if new := [gap for gap in dict.fromkeys(steering) if gap not in self.comments]:
            self.comments.update(zip(new, _steering_comments(new), strict=True))
        pieces = [self.encrypted[: runs[0][1]]]
        for ((_, _), (start, end)), gap in zip(gaps, steering, strict=True):
            pieces += (self.comments[gap], self.encrypted[start:end])
        return cleartext, b"".join(pieces)


def _is_hex(data: bytes) -> bool:
    return all(chr(byte) in "0123456789abcdefABCDEF \t\r\n" for byte in data)


def _eexec_keys(encrypted: bytes) -> np.ndarray:
    """The key before each byte of ``encrypted`` and after the last, as uint16 values.

    r[i+1] = C1 * r[i] + (C1 * c[i] + C2), so with q = C1's inverse modulo 2**16:
    r[i] = C1**i * (r[0] + sum(q**(j+1) * (C1 * c[j] + C2) for j < i)).
    uint16 arithmetic wraps modulo 2**16, as the key does, sums included."""
    count = len(encrypted)
    powers, inverse_powers = _powers(count)
    c = np.frombuffer(encrypted, np.uint8).astype(np.uint16)
    keys = np.empty(count + 1, np.uint16)
    keys[0] = _KEY
    with np.errstate(over="ignore"):
        sums = np.cumsum(inverse_powers * (c * _C1_16 + _C2_16), dtype=np.uint16)
        keys[1:] = powers * (np.uint16(_KEY) + sums)
    return keys


_POWERS: list[np.ndarray] = []
_POWERS_KEPT = 1 << 20  # longer programs (LibreOffice's are a few hundred KB) make their own


def _powers(count: int) -> tuple[np.ndarray, np.ndarray]:
    """C1**1 .. C1**count and q**1 .. q**count modulo 2**16, made once per worker process."""
    if not _POWERS or len(_POWERS[0]) < count:
        with np.errstate(over="ignore"):
            made = [
                np.cumprod(np.full(max(count, 1 << 16), factor, np.uint16), dtype=np.uint16)
                for factor in (_C1, _C1_INVERSE)
            ]
        if count > _POWERS_KEPT:
            return made[0][:count], made[1][:count]
        _POWERS[:] = made
    return _POWERS[0][:count], _POWERS[1][:count]


def _steering_comments(gaps: list[tuple[int, int]]) -> list[bytes]:
    """For each (key, target): ciphertext of a comment ("%" and letters or digits), written
    from eexec key ``key``, after which the key is ``target``. The next kept text starts with a
    newline, which ends the comment. Letters and digits only: Ghostscript's PDF interpreter
    misreads a glyph dictionary whose comments hold delimiters such as "(" or "/".

    Three free bytes x1 x2 x3 after "%" (key k0): for each of the 62 x 62 letter or digit
    plaintexts of x1 and x2, the last byte is fixed by the key k2 they lead to,
    x3 = (target - C2) / C1 - k2 (mod 2**16), and serves if it is a byte that decrypts to a
    letter or digit. About four times in five one of the 3,844 does; when none does, one more
    letter before them gives another k0 to try. All the gaps of a subset are solved in one
    vectorised pass (one at a time, numpy's fixed cost per call was most of the work)."""
    # uint16 arithmetic wraps modulo 2**16, as the cipher's key does.
    written = [[ord("%") ^ (key >> 8)] for key, _ in gaps]
    k0 = np.array(
        [
            ((first[0] + key) * _C1 + _C2) & _MASK
            for first, (key, _) in zip(written, gaps, strict=True)
        ],
        np.uint16,
    )
    last = np.array([(_C1_INVERSE * (target - _C2)) & _MASK for _, target in gaps], np.uint16)
    comments: list[bytes | None] = [None] * len(gaps)
    pending = np.arange(len(gaps))
    for filler in _ALNUM_BYTES.tolist():
        if not len(pending):
            break
        k = k0[pending][:, None, None]
        x1 = _ALNUM_BYTES[None, :, None] ^ (k >> 8)  # gap, x1
        k1 = (x1 + k) * _C1_16 + _C2_16
        x2 = _ALNUM_BYTES[None, None, :] ^ (k1 >> 8)  # gap, x1, x2
        k2 = (x2 + k1) * _C1_16 + _C2_16
        x3 = last[pending][:, None, None] - k2
        usable = (x3 < 256) & _ALNUM[(x3 ^ (k2 >> 8)) & 0xFF]
        found = usable.reshape(len(pending), -1)
        solved = found.any(axis=1)
        for row in np.flatnonzero(solved).tolist():
            i, j = divmod(int(found[row].argmax()), len(_ALNUM_BYTES))
            gap = int(pending[row])
            comments[gap] = bytes(
                [*written[gap], int(x1[row, i, 0]), int(x2[row, i, j]), int(x3[row, i, j])]
            )
        pending = pending[~solved]
        for gap in pending.tolist():  # one more letter before the three bytes
            cipher = filler ^ (int(k0[gap]) >> 8)
            written[gap].append(cipher)
            k0[gap] = ((cipher + int(k0[gap])) * _C1 + _C2) & _MASK
    if len(pending):  # pragma: no cover
        raise AssertionError(f"no steering comment for gaps {pending.tolist()}")
    return [comment for comment in comments if comment is not None]
