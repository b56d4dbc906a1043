"""Tests of docrender.data."""
