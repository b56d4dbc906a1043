"""Tests of workers.pdf."""
