"""Tests of docrender.templates."""
