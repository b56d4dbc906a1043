"""Webhooks: where a finished job is pushed, and how its delivery is recorded.

    rules.py  which callback URLs are allowed, and the signature on each body
    store.py  each job's delivery state in Redis, beside the job

May import: jobs, tenants and the modules at docrender's top.
"""
