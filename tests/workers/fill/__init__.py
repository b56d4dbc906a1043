"""Tests of workers.fill."""
