"""PDF work after conversion.

    document_fonts.py  each cut document keeps only the fonts and glyphs it draws
    type1.py           Type 1 font programs cut to the glyphs kept
    outlines.py        bookmarks carried into a PDF that took some pages of another
    glyphs.py          which characters print as tofu (no font has them)
    bundle.py          a finished job's archive and merged volume

May import: docrender only.
"""
