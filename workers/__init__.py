"""Celery workers: fill a template with docxtpl, convert it with LibreOffice, store it.

    __main__.py, celery_app.py   the render worker and its Celery wiring (the edge)
    tasks.py                     the render task, a plain function over injected services
    callback_worker.py, callbacks.py   the webhook worker and its delivery task
    fill/      a template filled with one document's data
    convert/   LibreOffice: its process, supervisor, converter, combined conversions
    pdf/       the PDF after conversion: cut documents' fonts, outlines, the bundle

May import: docrender. Never api or web (no Flask in a worker).
"""
