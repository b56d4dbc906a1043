"""The render task called directly, with a real job store and storage and a fake converter
(the converter itself is tested against real LibreOffice in test_converter.py)."""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import docx
import pikepdf
import pytest
import redis
from docx.oxml.ns import qn

from docrender.errors import ConversionFailed, ConversionTimedOut, ConverterUnavailable
from docrender.i18n import _
from docrender.jobs.options import JobOptions
from docrender.jobs.store import JobKind, JobStore, NewDocument, NewJob
from docrender.storage import LocalStorage, MeteredStorage, job_archive_key, job_document_key
from docrender.tenants.usage import Usage
from tests.helpers.clients import record_job
from tests.helpers.documents import make_docx
from tests.helpers.fonts import embed_font, font_drawing_nine_for_zero
from workers.convert import batching
from workers.ending import handle_end
from workers.tasks import RenderServices, render_documents


class FakeConverter:
    """Converts as LibreOffice does, in shape: a real PDF with a page per document, whose page
    holds the document's text (in its content stream, as a comment), and for a combined
    conversion the named destination of each document's first page, so that the render task
    cuts it as it cuts LibreOffice's. ``rejects``: text that makes it "refuse" any document
    holding it, combined or alone; ``size``/``sizes``: bytes of padding in each output, or in
    those of documents holding a text."""

    def __init__(
        self,
        error: Exception | None = None,
        rejects: str | None = None,
        size: int = 0,
        sizes: dict[str, int] | None = None,
    ) -> None:
        self.error = error
        self.rejects = rejects
        self.size = size
        self.sizes = sizes or {}
        self.calls = 0
        self.combined_calls = 0
        self.isolated_calls = 0
        self.alone: list[str] = []  # the text of each document converted alone

    def convert(
        self,
        document: bytes,
        output_format: str,
        filter_options: Sequence[str] = (),
        isolated: bool = False,
    ) -> bytes:
        self.calls += 1
        self.isolated_calls += isolated
        # A combined conversion asks LibreOffice for the cut markers as named destinations.
        combined = "ExportBookmarksToPDFDestination=true" in filter_options
        self.combined_calls += combined
        texts = marked_texts(document) if combined else [docx_text(document)]
        if not combined:
            self.alone.append(texts[0])
        if self.error is not None:
            raise self.error
        if self.rejects and any(self.rejects in text for text in texts):
            raise ConversionFailed(_("LibreOffice could not convert the document: bad"))
        return fake_pdf(texts, combined, [self._size(text) for text in texts])

    def _size(self, text: str) -> int:
        return next((n for part, n in self.sizes.items() if part in text), self.size)


def fake_pdf(texts: list[str], marked: bool, sizes: list[int]) -> bytes:
    """A page per text, the text (and ``sizes`` bytes of padding) in its content stream."""
    with pikepdf.new() as pdf:
        for position, (text, size) in enumerate(zip(texts, sizes, strict=True)):
            pdf.add_blank_page()
            page = pdf.pages[-1]
            padding = random.Random(position).randbytes(size)  # incompressible: it weighs
            page.obj.Contents = pdf.make_stream(b"% " + text.encode() + b"\n%" + padding)
            if marked:
                name = pikepdf.Name(f"/{batching.MARKER_PREFIX}{position}")
                pdf.Root.Dests = pdf.Root.get("/Dests", pikepdf.Dictionary())
                pdf.Root.Dests[name] = pikepdf.Array([page.obj, pikepdf.Name.Fit])
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page of a fake PDF."""
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return [page.Contents.read_bytes().split(b"\n")[0][2:].decode() for page in opened.pages]


def marked_texts(document: bytes) -> list[str]:
    """The text of each document in a combined one, split at the bookmarks the combining put
    on each document's first paragraph."""
    texts: list[str] = []
    for paragraph in docx.Document(io.BytesIO(document)).paragraphs:
        starts = [
            mark
            for mark in paragraph._p.iter(qn("w:bookmarkStart"))
            if (mark.get(qn("w:name")) or "").startswith(batching.MARKER_PREFIX)
        ]
        if starts or not texts:
            texts.append("")
        texts[-1] += paragraph.text
    return texts


@pytest.fixture
def services(redis_client: redis.Redis, tmp_path: Path) -> RenderServices:
    """The render task's services, its job's end handled at once as the end task would."""
    jobs, storage = JobStore(redis_client, 3600), LocalStorage(tmp_path)
    return RenderServices(
        jobs,
        storage,
        FakeConverter(),
        on_job_ended=lambda job_id: handle_end(job_id, jobs, storage, lambda _job: None),
    )


def new_job(services: RenderServices, data: list[dict], output_format: str = "pdf") -> str:
    template_key = f"templates/{uuid.uuid4().hex}.docx"
    services.storage.put(template_key, make_docx("{{ unit }}"))
    documents = [NewDocument(f"d{i}", d) for i, d in enumerate(data)]
    return record_job(services.jobs, "t", documents, template_key, format=output_format)


def document(services: RenderServices, job_id: str, index: int) -> dict:
    job = services.jobs.get(job_id, "t")
    assert job is not None
    doc = job.documents[index]
    return {"status": doc.status, "error": doc.error}


def test_success_stores_the_converted_file(services: RenderServices) -> None:
    job_id = new_job(services, [{"unit": "x"}])
    assert render_documents(job_id, [0], services)[0] == "succeeded"
    # The filled document, not the template ({{ unit }}) nor another document.
    assert page_texts(services.storage.read(job_document_key(job_id, 0, "pdf"))) == ["x"]
    assert document(services, job_id, 0) == {"status": "succeeded", "error": None}


def test_docx_output_skips_the_converter(services: RenderServices) -> None:
    job_id = new_job(services, [{"unit": "x"}], output_format="docx")
    render_documents(job_id, [0], services)[0]
    assert services.converter.calls == 0  # type: ignore[attr-defined]
    made = services.storage.read(job_document_key(job_id, 0, "docx"))
    assert docx_text(made) == "x"  # filled, not the template


def test_a_check_fills_each_document_and_converts_and_stores_none(
    services: RenderServices,
) -> None:
    template_key = f"templates/{uuid.uuid4().hex}.docx"
    services.storage.put(template_key, make_docx('{{ unit }} {{ day|date("%Y") }}'))
    job_id = uuid.uuid4().hex
    documents = [
        NewDocument("a", {"unit": "甲", "day": "2012/5/1"}),
        NewDocument("b", {"day": "x"}),
    ]
    services.jobs.create(
        NewJob(job_id, "t", "tpl", template_key, JobOptions(), documents, kind=JobKind.CHECK)
    )
    assert render_documents(job_id, [0, 1], services) == ["succeeded", "failed"]
    assert services.converter.calls == 0  # type: ignore[attr-defined]
    assert not services.storage.exists(job_document_key(job_id, 0, "pdf"))
    error = document(services, job_id, 1)["error"]
    assert error["details"]["column"] == "day" and error["details"]["value"] == "x"


def test_permanent_failure_fails_only_that_document(services: RenderServices) -> None:
    services = replace(
        services,
        converter=FakeConverter(
            ConversionFailed(_("LibreOffice could not convert the document: bad"))
        ),
    )
    job_id = new_job(services, [{"unit": "x"}, {"unit": "y"}])
    assert render_documents(job_id, [0], services)[0] == "failed"
    assert document(services, job_id, 0)["error"]["code"] == "conversion_failed"
    assert document(services, job_id, 1)["status"] == "queued"


def test_transient_failure_is_raised_for_retry_until_the_last_attempt(
    services: RenderServices,
) -> None:
    services = replace(services, converter=FakeConverter(ConverterUnavailable(_("restarting"))))
    job_id = new_job(services, [{"unit": "x"}])
    with pytest.raises(ConverterUnavailable):
        render_documents(job_id, [0], services, last_attempt=False)[0]
    assert document(services, job_id, 0)["status"] == "queued"  # until the retry starts it
    assert render_documents(job_id, [0], services, last_attempt=True)[0] == "failed"
    assert document(services, job_id, 0)["error"]["code"] == "converter_unavailable"


def test_redelivery_of_a_finished_document_does_nothing(services: RenderServices) -> None:
    job_id = new_job(services, [{"unit": "x"}])
    render_documents(job_id, [0], services)[0]
    assert render_documents(job_id, [0], services)[0] is None
    assert services.converter.calls == 1  # type: ignore[attr-defined]


def test_a_document_whose_worker_keeps_dying_is_quarantined(services: RenderServices) -> None:
    job_id = new_job(services, [{"unit": "x"}])
    # Three deliveries each started the document and then died without a word.
    for _delivery in range(3):
        services.jobs.start_document(job_id, 0, services.max_crashes)
    assert render_documents(job_id, [0], services)[0] == "failed"
    error = document(services, job_id, 0)["error"]
    assert error["code"] == "quarantined" and "died 3 times" in error["message"]
    assert services.converter.calls == 0  # type: ignore[attr-defined]
    job = services.jobs.get(job_id, "t")
    assert job is not None and job.finished_at is not None


def docx_text(document: bytes) -> str:
    return "".join(p.text for p in docx.Document(io.BytesIO(document)).paragraphs)


def test_a_group_that_libreoffice_rejects_combined_is_converted_one_by_one(
    services: RenderServices,
) -> None:
    converter = FakeConverter(rejects="壞")
    services = replace(services, converter=converter)
    # All Traditional (區), so that the three make one group, as a Traditional job does.
    job_id = new_job(services, [{"unit": "甲區"}, {"unit": "壞"}, {"unit": "丙區"}])
    assert render_documents(job_id, [0, 1, 2], services) == ["succeeded", "failed", "succeeded"]
    assert converter.combined_calls == 1  # tried together once, then each alone
    assert converter.calls == 4
    assert document(services, job_id, 1)["error"]["code"] == "conversion_failed"


def test_a_group_left_running_by_a_dead_delivery_is_made_one_at_a_time(
    services: RenderServices,
) -> None:
    converter = FakeConverter()
    services = replace(services, converter=converter)
    job_id = new_job(services, [{"unit": "甲"}, {"unit": "乙"}, {"unit": "丙"}])
    services.jobs.start_document(job_id, 1, services.max_crashes)  # the delivery that died
    assert render_documents(job_id, [0, 1, 2], services) == ["succeeded"] * 3
    # One at a time, so that a crash is counted on the document that causes it only.
    assert converter.combined_calls == 0 and converter.calls == 3


def test_a_transient_failure_hands_the_whole_group_back_for_the_retry(
    services: RenderServices,
) -> None:
    services = replace(services, converter=FakeConverter(ConverterUnavailable(_("restarting"))))
    job_id = new_job(services, [{"unit": "甲"}, {"unit": "乙"}, {"unit": "丙"}])
    with pytest.raises(ConverterUnavailable):
        render_documents(job_id, [0, 1, 2], services, last_attempt=False)
    assert [document(services, job_id, i)["status"] for i in range(3)] == ["queued"] * 3
    assert render_documents(job_id, [0, 1, 2], services, last_attempt=True) == ["failed"] * 3


class HangingConverter(FakeConverter):
    """LibreOffice "hangs" (the conversion times out) on any document holding ``hangs``."""

    def __init__(self, hangs: str) -> None:
        super().__init__()
        self.hangs = hangs

    def convert(
        self,
        document: bytes,
        output_format: str,
        filter_options: Sequence[str] = (),
        isolated: bool = False,
    ) -> bytes:
        if self.hangs in docx_text(document):
            self.calls += 1
            raise ConversionTimedOut(_("LibreOffice did not finish converting in time"))
        return super().convert(document, output_format, filter_options, isolated)


def test_a_document_that_hangs_libreoffice_twice_fails_and_its_neighbours_do_not(
    services: RenderServices,
) -> None:
    converter = HangingConverter(hangs="壞")
    services = replace(services, converter=converter)
    job_id = new_job(services, [{"unit": "甲區"}, {"unit": "壞"}, {"unit": "丙區"}])  # one group
    # Converted together, the group times out: counted on all three, retried.
    with pytest.raises(ConversionTimedOut):
        render_documents(job_id, [0, 1, 2], services, last_attempt=False)
    assert [document(services, job_id, i)["status"] for i in range(3)] == ["queued"] * 3
    # The retry makes them one at a time: the one that hangs again fails, without a third try.
    assert render_documents(job_id, [0, 1, 2], services, last_attempt=False) == [
        "succeeded",
        "failed",
        "succeeded",
    ]
    assert document(services, job_id, 1)["error"]["code"] == "conversion_timed_out"
    assert converter.calls == 1 + 1 + 2  # combined, 壞 alone, 甲 and 丙 alone
    retried = services.jobs.requeue_failed(job_id, cap=100)
    assert retried.again == []  # a retry of the job would only hang it again


def test_cancelling_stops_documents_waiting_for_their_retry(services: RenderServices) -> None:
    converter = HangingConverter(hangs="壞")
    services = replace(services, converter=converter)
    job_id = new_job(services, [{"unit": "壞"}, {"unit": "乙區"}])
    with pytest.raises(ConversionTimedOut):
        render_documents(job_id, [0, 1], services, last_attempt=False)
    assert services.jobs.cancel_queued(job_id) == 2  # while the task waits for its retry
    services.on_job_ended(job_id)  # as the cancel route sends it
    assert render_documents(job_id, [0, 1], services, last_attempt=False) == [None, None]
    assert converter.calls == 1
    job = services.jobs.get(job_id, "t")
    assert job is not None and job.status == "cancelled"


def test_simplified_and_traditional_documents_are_converted_in_separate_loads(
    services: RenderServices,
) -> None:
    """Each document settles its language from its text; a body moved into another's package
    would print with that package's glyph forms, so each language makes a group of its own."""
    converter = FakeConverter()
    services = replace(services, converter=converter)
    units = [
        {"unit": "沙灣縣第五小學"},
        {"unit": "沙湾县第五小学"},
        {"unit": "阜康市第二中學"},
        {"unit": "阜康市第二中学"},
    ]
    job_id = new_job(services, units)
    assert render_documents(job_id, [0, 1, 2, 3], services) == ["succeeded"] * 4
    assert converter.combined_calls == 2  # the two Traditional together, the two Simplified


def test_documents_that_embed_fonts_convert_alone_each_on_its_own_instance(
    services: RenderServices,
) -> None:
    """Their fonts must print in them and in no other document: never combined, and each
    conversion the last of its LibreOffice instance."""
    converter = FakeConverter()
    services = replace(services, converter=converter)
    template_key = f"templates/{uuid.uuid4().hex}.docx"
    services.storage.put(
        template_key,
        embed_font(make_docx("{{ unit }}"), "Cambria", font_drawing_nine_for_zero("Cambria")),
    )
    documents = [NewDocument(f"d{i}", {"unit": u}) for i, u in enumerate(["甲區", "乙區", "丙區"])]
    job_id = record_job(services.jobs, "t", documents, template_key)
    assert render_documents(job_id, [0, 1, 2], services) == ["succeeded"] * 3
    assert (converter.calls, converter.combined_calls, converter.isolated_calls) == (3, 0, 3)


def test_a_document_that_cannot_be_cut_from_its_group_converts_alone(
    services: RenderServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut from the combined PDF, its fonts could carry its neighbours' text."""
    converter = FakeConverter()
    services = replace(services, converter=converter)
    monkeypatch.setattr(
        batching,
        "split",
        lambda pdf, documents: [
            batching.Cut(range(0, 1), pdf),
            batching.Cut(range(1, 2), None),
            batching.Cut(range(2, 3), pdf),
        ],
    )
    job_id = new_job(services, [{"unit": "甲區"}, {"unit": "乙區"}, {"unit": "丙區"}])
    assert render_documents(job_id, [0, 1, 2], services) == ["succeeded"] * 3
    assert (converter.calls, converter.combined_calls) == (2, 1)  # together, then 1 alone
    assert converter.alone == ["乙區"]


def test_documents_whose_outputs_would_pass_the_quota_fail_alone(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Outputs were counted only after they were written: one 973 KB photo named by 40
    documents took a tenant to 75 MB on a 20 MB quota. Each output is claimed before it is
    written; those that do not fit fail with storage_quota_exceeded, the others are made."""
    tenant = f"t{uuid.uuid4().hex[:8]}"
    usage = Usage(redis_client, 3_500_000)
    jobs, storage = JobStore(redis_client, 3600), MeteredStorage(LocalStorage(tmp_path), usage)
    converter = FakeConverter(size=1_000_000, sizes={"大": 2_000_000})
    services = RenderServices(jobs, storage, converter, on_job_ended=lambda job_id: None)
    template_key = f"templates/{tenant}/t.docx"
    documents = [NewDocument(f"d{i}", {"unit": u}) for i, u in enumerate("甲乙大丁戊")]
    job_id = record_job(jobs, tenant, documents, template_key)
    usage.start_job(job_id, tenant)
    storage.put(template_key, make_docx("{{ unit }}"))
    statuses = render_documents(job_id, [0, 1, 2, 3, 4], services)
    # 1 + 1 MB fit; the 2 MB one does not, nor does the last; the 1 MB after it does.
    assert statuses == ["succeeded", "succeeded", "failed", "succeeded", "failed"], statuses
    job = jobs.get(job_id, tenant)
    assert job is not None
    assert {doc.error["code"] for doc in job.documents if doc.error} == {"storage_quota_exceeded"}
    assert usage.used(tenant) <= 3_500_000
    # The archive and merged volume copy counted documents: counted, never refused.
    assert handle_end(job_id, jobs, storage, lambda _job: None)
    assert storage.exists(job_archive_key(job_id))
    assert usage.used(tenant) > 3_500_000


def test_a_group_is_converted_in_one_load_and_each_document_gets_its_own_pages(
    services: RenderServices,
) -> None:
    converter = FakeConverter()
    services = replace(services, converter=converter)
    units = ["甲區", "乙區", "丙區"]
    job_id = new_job(services, [{"unit": unit} for unit in units])
    assert render_documents(job_id, [0, 1, 2], services) == ["succeeded"] * 3
    assert (converter.calls, converter.combined_calls) == (1, 1)
    for index, unit in enumerate(units):
        assert page_texts(services.storage.read(job_document_key(job_id, index, "pdf"))) == [unit]


def test_an_unexpected_error_in_one_document_fails_it_alone(
    services: RenderServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met by one document's data (here: the grid rewrite raising) stops that document
    with internal_error and an error id; its group mates are made."""
    from workers.fill import grid

    real = grid.fit_character_grid

    def breaks_on_b(document: docx.document.Document) -> bool:
        if "乙" in "".join(p.text for p in document.paragraphs):
            raise RuntimeError("a bug")
        return real(document)

    monkeypatch.setattr(grid, "fit_character_grid", breaks_on_b)
    job_id = new_job(services, [{"unit": "甲區"}, {"unit": "乙區"}, {"unit": "丙區"}])
    assert render_documents(job_id, [0, 1, 2], services) == ["succeeded", "failed", "succeeded"]
    error = document(services, job_id, 1)["error"]
    assert error["code"] == "internal_error" and "error id" in error["message"]
