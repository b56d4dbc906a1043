"""Helpers the tests share. Fixtures live in tests/conftest.py; test modules import helpers
from these modules, never from conftest or from each other."""
