"""Documents' data: the values a job fills a template with.

    files.py        data from a file a bureau keeps (.xlsx, .csv, .json): one row, one document
    values.py       the typed values beside plain ones (images, rich text, cells, sub-documents)
    validation.py   a whole batch's data checked against what its template reads
    strict_json.py  JSON as the service accepts it from outside, bounded

May import: templates (what a template reads), fonts and the modules at docrender's top.
"""
