"""Filling a template with one document's data (docxtpl), before conversion.

    render.py        docxtpl in the sandboxed environment; the filled package LibreOffice gets
    templates.py     each template opened once per worker process, copied per document
    values.py        typed values turned into what docxtpl prints
    rich_text.py     formatted runs ({{r x }})
    images.py        pictures from the data, checked and sized
    subdocuments.py  annexes (.docx) printed where {{p x }} stands
    grid.py          Word's document grid rewritten so LibreOffice prints it as Word does

May import: docrender (data, templates, fonts, errors). Never convert or pdf.
"""
