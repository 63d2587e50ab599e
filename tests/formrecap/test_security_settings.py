"""HTTPS and the Content-Security-Policy: the production environment passes `check --deploy` clean, and every page
carries a policy whose nonce only the page's own inline scripts have."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from formrecap.demo import demo_seed

ROOT = Path(__file__).resolve().parents[2]
# What docker/.env.example and README's Production section set behind a TLS proxy.
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "formrecap.settings",
    "FORMRECAP_PROFILE": "production",
    "DEBUG": "0",
    "SECRET_KEY": "k3J9-production-like-secret-key-with-enough-length-and-variety-8f2Qz!x",
    "ALLOWED_HOSTS": "formrecap.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://formrecap.example.com",
    "BEHIND_TLS_PROXY": "1",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
}
CHECK_DEPLOY = (
    "import django; django.setup(); from django.core.management import call_command; "
    "call_command('check', deploy=True, fail_level='WARNING')"
)


def run_with_env(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    environ = {name: value for name, value in os.environ.items() if name not in PRODUCTION_ENV}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**environ, **env}, capture_output=True, text=True)


def test_the_production_environment_passes_check_deploy_without_warnings():
    result = run_with_env(CHECK_DEPLOY, PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "System check identified no issues" in result.stdout


def test_without_tls_the_https_warnings_remain():
    # BEHIND_TLS_PROXY=0 (plain http, e.g. compose on localhost) keeps cookies and redirects usable over http
    result = run_with_env(CHECK_DEPLOY, {**PRODUCTION_ENV, "BEHIND_TLS_PROXY": "0"})
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def nonce_of(response) -> str:
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    return re.search(r"'nonce-([^']+)'", policy).group(1)


@pytest.mark.parametrize("path", ["/", "/admin/login/", "/api/docs/", "/api/v1/sites/"])
def test_every_page_carries_the_policy(client, db, path):
    assert nonce_of(client.get(path))


def test_the_demo_s_inline_scripts_carry_the_request_s_nonce(client, db):
    demo_seed(origins=["http://testserver"], username="demo", password="pw-demo-1234")
    first, second = client.get("/demo/"), client.get("/demo/")
    nonce = nonce_of(first)
    assert nonce != nonce_of(second)  # a fresh one per request
    scripts = re.findall(r"<script([^>]*)>", first.content.decode())
    inline = [attributes for attributes in scripts if "src=" not in attributes]
    assert len(inline) == 2 and all(f'nonce="{nonce}"' in attributes for attributes in inline)


def test_swagger_ui_has_no_inline_script(db):
    docs = APIClient().get("/api/docs/").content.decode()
    assert all("src=" in attributes for attributes in re.findall(r"<script([^>]*)>", docs))
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', docs).group(1).replace("&amp;", "&")
    script = APIClient().get(script_url)
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_report_only_mode(client, db, settings):
    settings.FORMRECAP_CSP_REPORT_ONLY = True
    response = client.get("/")
    assert "Content-Security-Policy" not in response and "script-src" in response["Content-Security-Policy-Report-Only"]
