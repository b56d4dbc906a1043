"""Tests of docrender.fonts.substitutes."""
