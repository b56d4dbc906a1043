"""Celery workers: fill a template with docxtpl, convert it with LibreOffice, store it."""
