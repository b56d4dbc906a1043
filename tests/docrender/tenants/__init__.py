"""Tests of docrender.tenants."""
