"""Tests of docrender.jobs."""
