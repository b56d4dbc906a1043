"""Formatted text from the data: runs with bold, italic, underline, colour, size, font, a
character style or a link, printed by docxtpl's RichText where the template says
``{{r remark }}``.

    {"type": "rich", "runs": ["普通文字，", {"text": "重点内容", "bold": true, "color": "C00000"}]}

Paragraphs of rich text, each with a paragraph style of the template, are docxtpl's
RichTextParagraph, printed by a ``{{p body }}`` tag:

    {"type": "paragraphs", "paragraphs": [{"style": "Heading 1", "runs": ["一、总体情况"]},
                                          {"runs": ["正文，", {"text": "重点", "bold": true}]}]}

A run's ``font`` names the face of its Chinese text as well as of its Latin text (as choosing
a font in Word does), mapped like a template's fonts (docrender/fonts/substitutes.py); docxtpl's own
spelling ``"eastAsia:楷体"`` names the Chinese face alone. A run's text may hold line breaks
(\\n), new paragraphs (\\a) and page breaks (\\f). Every property is checked by the models
of docrender/data/rich.py, at submission and again here, since docxtpl writes them into the
document's XML as they are; the styles a value names, here, where the template is open.
"""

from __future__ import annotations

from typing import Any

from docx.enum.style import WD_STYLE_TYPE
from docxtpl import DocxTemplate, RichText, RichTextParagraph

from docrender.data.rich import ParagraphsSpec, RichSpec, Run, parsed
from docrender.errors import RenderFailed
from docrender.i18n import _

_LINK_COLOUR = "0563C1"  # Word's own hyperlink blue, where the template has no Hyperlink style


def rich_text(value: dict[str, Any], path: str, template: DocxTemplate) -> RichText:
    """The runs of ``value`` as docxtpl's RichText for ``template`` (whose character styles
    the runs may name, and whose relationships hold their links)."""
    return _runs(parsed(RichSpec, value, path).runs, path, template)


def rich_paragraphs(value: dict[str, Any], path: str, template: DocxTemplate) -> RichTextParagraph:
    """The paragraphs of ``value`` as docxtpl's RichTextParagraph, each with its runs and
    the template's paragraph style it names."""
    spec = parsed(ParagraphsSpec, value, path)
    paragraphs = RichTextParagraph()
    for number, paragraph in enumerate(spec.paragraphs):
        where = f"{path}.paragraphs[{number}]"
        style = _named_style(template, paragraph.style, WD_STYLE_TYPE.PARAGRAPH, where)
        paragraphs.add(_runs(paragraph.runs, where, template), parastyle=style)
    return paragraphs


def _runs(runs: list[str | Run], path: str, template: DocxTemplate) -> RichText:
    text = RichText()
    for number, run in enumerate(runs):
        if isinstance(run, str):
            text.add(run)
            continue
        style = _named_style(template, run.style, WD_STYLE_TYPE.CHARACTER, f"{path}.runs[{number}]")
        color, underline = run.color, run.underline
        if run.url and style is None:
            style = _style_id(template, "Hyperlink")
            if style is None:  # Word's look for a link
                color, underline = color or _LINK_COLOUR, underline or "single"
        text.add(
            run.text,
            style=style,
            bold=run.bold,
            italic=run.italic,
            underline=underline,
            strike=run.strike,
            superscript=run.superscript,
            subscript=run.subscript,
            color=color,
            highlight=run.highlight,
            font=_font(run.font),
            size=round(run.size * 2) if run.size else None,  # half-points
            url_id=template.build_url_id(run.url) if run.url else None,
        )
    return text


def _font(name: str | None) -> str | None:
    """docxtpl's font spelling for a run's ``font``: a plain name sets the Chinese face too."""
    if name is None or ":" in name:
        return name
    return f"eastAsia:{name}"


def _named_style(
    template: DocxTemplate, name: str | None, kind: WD_STYLE_TYPE, path: str
) -> str | None:
    """The id of the template's style of ``kind`` called ``name``; a name it has none of
    fails the document, listing the styles of that kind it has."""
    if name is None:
        return None
    style_id = _style_id(template, name, kind)
    if style_id is None:
        known = sorted(style.name for style in template.docx.styles if style.type == kind)
        what = _("character style") if kind == WD_STYLE_TYPE.CHARACTER else _("paragraph style")
        raise RenderFailed(
            _(
                "The rich text at %(path)s names the style %(style)s, which the template has no "
                "%(kind)s of; it has: %(known)s.",
                path=path,
                style=repr(name),
                kind=what,
                known=", ".join(known) or _("none"),
            )
        )
    return style_id


def _style_id(
    template: DocxTemplate, name: str, kind: WD_STYLE_TYPE = WD_STYLE_TYPE.CHARACTER
) -> str | None:
    """The id of the template's style of ``kind`` called ``name`` (by name or by id)."""
    for style in template.docx.styles:
        if style.type == kind and name in (style.name, style.style_id):
            return str(style.style_id)
    return None
