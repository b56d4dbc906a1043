"""Tenants: who may call, and what each keeps.

    keys.py      API keys and webhook secrets, managed with `docrender keys`
    sessions.py  the pages' sign-ins, which signing out ends everywhere
    usage.py     the bytes each tenant keeps in storage, and the quota on them

May import: the modules at docrender's top only.
"""
