"""Text extraction from article pages and PDFs."""

from tests.collect.conftest import article, tiny_pdf
from watcher.extract import extract, extract_pdf, is_pdf


def test_article_page_gives_main_text_title_and_language() -> None:
    page = article("Chaleur fatale : un réseau mutualisé", seed=1)
    result = extract(page, url="https://ex.org/a", max_pdf_bytes=10**6)
    assert result.title == "Chaleur fatale : un réseau mutualisé"
    assert result.language == "fr"
    assert "Mentions légales" not in result.text and len(result.text.split()) > 200


def test_pdf_text_by_content_type_and_by_magic_bytes() -> None:
    pdf = tiny_pdf("Appel a projets economie circulaire, depot avant le 15 janvier 2027")
    by_type = extract(
        pdf, url="https://ex.org/doc", content_type="application/pdf", max_pdf_bytes=10**6
    )
    assert "depot avant le 15 janvier 2027" in by_type.text
    assert by_type.title == "Appel a projets"
    assert is_pdf(None, "https://ex.org/x.PDF?v=2")
    assert extract(pdf, url="https://ex.org/doc", max_pdf_bytes=10**6).text == by_type.text


def test_pdf_over_the_size_cap_is_not_read() -> None:
    pdf = tiny_pdf("trop grand")
    result = extract_pdf(pdf, max_bytes=100)
    assert result.text == "" and "cap" in result.error


def test_garbage_pdf_reports_an_error() -> None:
    result = extract_pdf(b"%PDF-1.4 garbage", max_bytes=10**6)
    assert result.text == "" and result.error
