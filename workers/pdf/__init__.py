"""PDF work after conversion.

    separation.py      each cut document carries only what it draws (fonts, glyphs, images)
    to_unicode.py      ToUnicode maps read with bounds, written for some codes
    type1.py           Type 1 font programs cut to the glyphs kept
    outlines.py        bookmarks carried into a PDF that took some pages of another
    glyphs.py          which characters print as tofu (no font has them)
    bundle.py          a finished job's archive and merged volume

May import: docrender only.
"""
