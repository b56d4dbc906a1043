"""Converting with LibreOffice, one instance per worker process.

    libreoffice.py       one unoserver + LibreOffice pair: start, live or not, stop
    unoserver_hidden.py  unoserver as docrender runs it (run by LibreOffice's Python, not ours)
    supervisor.py        starts, replaces and recycles that pair; knows nothing of jobs
    converter.py         converts one package on it
    batching.py          several documents in one load, then cut apart

May import: pdf (the cut gives each document its own fonts) and docrender. Never fill.
"""
