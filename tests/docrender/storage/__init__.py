"""Tests of docrender.storage."""
