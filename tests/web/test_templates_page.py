"""The templates page as a clerk meets it without JavaScript: uploading a file that is already
there says so, under the name it is kept as, instead of "uploaded" over an unchanged list."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient

from docrender.settings import Settings
from tests.helpers.documents import make_docx
from tests.helpers.pages import clerk, csrf_token


def upload(browser: FlaskClient, data: bytes, filename: str, language: str) -> str:
    page = browser.get("/web/templates").get_data(as_text=True)
    return browser.post(
        "/web/templates",
        data={"csrf_token": csrf_token(page), "template": (io.BytesIO(data), filename)},
        headers={"Accept-Language": language},
        follow_redirects=True,
    ).get_data(as_text=True)


def test_the_same_file_again_says_it_is_already_there_and_under_which_name(
    settings: Settings,
) -> None:
    browser, _ = clerk(settings)
    template = make_docx("關於{{ unit }}的通知")
    first = upload(browser, template, "unit-summary.docx", "en")
    assert "The template was uploaded." in first
    again = upload(browser, template, "基本情況表.docx", "zh-TW")
    assert "這個檔案已經上傳過，就是範本「unit-summary」；沒有再新增。" in again
    assert "範本已上傳" not in again
    assert again.count("基本情況表") == 0  # no second template under the new name
    in_english = upload(browser, template, "copy.docx", "en")
    assert "This file is already here, as the template “unit-summary”; nothing was added." in (
        in_english
    )


def test_delete_asks_first_on_a_page_of_its_own(settings: Settings) -> None:
    browser, _ = clerk(settings)
    listing = upload(browser, make_docx("關於{{ unit }}的通知"), "unit-summary.docx", "en")
    # The list's Delete is a link to the question, not a form that deletes.
    link = re.search(r'<a class="danger" href="([^"]+)" aria-label="Delete unit-summary">', listing)
    assert link is not None
    assert "/delete" not in "".join(re.findall(r'<form method="post" action="([^"]+)"', listing))
    question = browser.get(link[1], headers={"Accept-Language": "zh-TW"}).get_data(as_text=True)
    assert "刪除範本「unit-summary」？" in question
    assert "已用它做好的批次保留各自的文件" in question
    assert browser.get("/web/templates").get_data(as_text=True).count("unit-summary") >= 1
    deleted = browser.post(
        link[1],
        data={"csrf_token": csrf_token(question)},
        headers={"Accept-Language": "en"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "The template was deleted." in deleted and "No templates yet" in deleted
    assert browser.get(link[1]).status_code == 404
