"""Jobs: a submitted batch of documents, from its record to its end.

    store.py        the job record and each document's state in Redis, progress, the end
    queue.py        Celery's broker settings and the task names both halves share
    options.py      JobOptions: every option a job is made with, validated once
    formats.py      the output formats (pdf, pdfa, docx) and how LibreOffice exports each
    idempotency.py  Idempotency-Key: a retried POST gets the job its first attempt made

May import: data, templates, storage, tenants, fonts and the modules at docrender's top
(errors, i18n, settings, clock). Never webhooks, monitoring or responses, which build on jobs.
"""
