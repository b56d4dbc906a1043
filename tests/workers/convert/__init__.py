"""Tests of workers.convert."""
