"""docrender's core: everything the API and the workers share, and nothing of Flask,
Celery's workers or LibreOffice.

A job travels request -> validation -> job record -> task -> fill -> convert -> store ->
status/download. The core holds the middle of it, one package a feature, each over the ones
it builds on (pyproject.toml's [tool.importlinter] checks the direction):

    responses.py   what the service answers with: a job and a template as clients see them
    webhooks/      where a finished job is pushed, and its delivery records
    monitoring/    logs, metrics, converter heartbeats
    jobs/          the job record and its documents' states, the queue, options, formats
    data/          documents' data: files, typed values, whole-batch validation
    templates/     uploaded templates, their checks, tags and filters
    storage/       where files live (local or S3), behind one interface
    tenants/       API keys and what each tenant keeps
    fonts/         fonts, their substitutes, Simplified and Traditional Chinese
    errors.py      the one typed error hierarchy, each error its status and code
    messages.py    the languages people read
    settings.py    settings, built once from the environment and validated
    clock.py, processes.py

The entry points sit above the core: api/ (Flask), web/ (the clerks' pages), workers/ (Celery
with LibreOffice) and cli/.
"""
