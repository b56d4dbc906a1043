"""What an operator watches.

    logs.py        structured JSON logs, with the request, tenant, job and document they are about
    metrics.py     Prometheus metrics, added up across processes
    heartbeats.py  each converter's last real round trip, for /readyz

May import: jobs (queue names, for the queue depth) and the modules at docrender's top.
"""
