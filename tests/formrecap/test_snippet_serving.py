"""The snippet URL and the demo page."""

import gzip
import re

from django.test import Client

from formrecap.demo import demo_seed

MAX_GZIPPED_BYTES = 4096


def test_snippet_is_served_with_cache_headers(db):
    response = Client().get("/snippet/v1/formrecap.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "max-age" in response["Cache-Control"] and response["ETag"]
    assert Client().get("/snippet/v1/formrecap.js", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_snippet_is_at_most_4kb_gzipped(db):
    source = Client().get("/snippet/v1/formrecap.js").content
    assert len(gzip.compress(source, compresslevel=9)) <= MAX_GZIPPED_BYTES


def test_snippet_never_reads_typed_content(db):
    source = Client().get("/snippet/v1/formrecap.js").content.decode()
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", source, flags=re.S)  # comments may mention what we avoid
    for forbidden in ("value", "textContent", "innerText", "files", "selectionStart", "innerHTML", "getData"):
        assert not re.search(rf"\.{forbidden}\b|\[['\"]{forbidden}['\"]\]", code), forbidden


def test_unknown_snippet_version_is_404(db):
    assert Client().get("/snippet/v9/formrecap.js").status_code == 404


def test_demo_page_embeds_the_demo_site_key(db):
    creds = demo_seed(origins=["http://127.0.0.1:8000"], username="demo", password="pw-demo-1234")
    page = Client().get("/demo/").content.decode()
    assert 'src="/snippet/v1/formrecap.js"' in page and f'data-site-key="{creds.site_key}"' in page


def test_demo_page_without_seed_is_404(db):
    assert Client().get("/demo/").status_code == 404
