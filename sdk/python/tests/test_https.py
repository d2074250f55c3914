"""The SDK over HTTPS: a registry behind TLS with a private CA is reached with ``ssl_context``;
a certificate the client does not trust is refused, never silently accepted."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
import unittest
from pathlib import Path
from typing import Any

import _support  # noqa: F401 - puts the SDK's sources on sys.path
from _fake_registry import VS_A, FakeRegistry, Request, http_answer, resolve_answer, sse_head, state_event
from _support import FAST

from pinset import Client, RegistryUnreachableError, Resolver, ResolverStartError


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl command to make a certificate")
class Https(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pinset-py-tls-"))
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
             "-keyout", str(self.dir / "key.pem"), "-out", str(self.dir / "cert.pem"), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(self.dir / "cert.pem", self.dir / "key.pem")

        def handler(req: Request) -> Any:
            if req.endpoint == "resolve":
                return resolve_answer(VS_A)
            if req.endpoint == "watch":
                return self.fake.stream(sse_head(), state_event(VS_A, 1))
            return http_answer(404)

        self.fake = FakeRegistry(handler, tls=server)
        self.trusted = ssl.create_default_context(cafile=str(self.dir / "cert.pem"))

    def tearDown(self) -> None:
        self.fake.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_client_and_resolver_over_tls_with_a_private_ca(self) -> None:
        self.assertTrue(self.fake.url.startswith("https://"))
        self.assertEqual(Client(self.fake.url, "t", ssl_context=self.trusted).resolve("p", "prod").version_set, VS_A)
        with Resolver(self.fake.url, "t", "p", "prod", ssl_context=self.trusted, **FAST) as r:
            self.assertEqual(r.wait_ready(5).version_set, VS_A)
            _support.wait_for(lambda: r.current().revision == 1, "the watch stream over TLS")

    def test_an_untrusted_certificate_is_refused(self) -> None:
        with self.assertRaises(RegistryUnreachableError) as caught:
            Client(self.fake.url, "t").resolve("p", "prod")
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(caught.exception))
        with Resolver(self.fake.url, "t", "p", "prod", **FAST) as r, self.assertRaises(ResolverStartError):
            r.wait_ready(5)


if __name__ == "__main__":
    unittest.main()
