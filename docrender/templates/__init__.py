"""Templates: a tenant's DOCX files with Jinja tags, checked before anything trusts them.

    registry.py       uploaded templates: metadata in Redis, bytes in storage
    package_check.py  hostile zip packages refused before python-docx or LibreOffice parse them
    tags.py           the sandboxed Jinja environment, and what a template reads (inspection)
    inspection.py     that inspection at upload, in a child with a deadline and a memory cap
    filters.py        the report filters every template has (dates, money, Chinese numerals)
    fill_in_sheet.py  the .xlsx whose columns are exactly what a template reads
    styles.py         a template's styles as Word resolves them (based-on chains, the default)

May import: storage, tenants, fonts and the modules at docrender's top. Never data or jobs.
"""
