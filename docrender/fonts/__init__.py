"""Fonts and the Chinese scripts that choose them.

    substitutes.py  the fonts documents name and the free faces that stand in for them
    template.py     the font report of a template: what it asks for and what prints instead
    chinese.py      Simplified or Traditional: which a text is written in; Chinese typography

May import: the modules at docrender's top only.
"""
