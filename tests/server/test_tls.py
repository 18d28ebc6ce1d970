"""HTTPS on the HTTP side: a local CA, the same handlers behind a TLS layer (§4.7, §4.8)."""

from __future__ import annotations

import json
import ssl

import pytest
import trio
from cryptography import x509

from simulator.server import Server
from simulator.server.tls import SERVICE_HOSTS, make_local_ca


async def https_get(
    port: int, path: str, context: ssl.SSLContext, server_name: str = "127.0.0.1"
) -> bytes:
    tcp = await trio.open_tcp_stream("127.0.0.1", port)
    stream = trio.SSLStream(tcp, context, server_hostname=server_name, https_compatible=True)
    request = f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n"
    answer = b""
    try:
        await stream.send_all(request.encode())
        while chunk := await stream.receive_some(65536):
            answer += chunk
    finally:
        await trio.aclose_forcefully(stream)
    return answer


def test_the_certificate_names_the_loopback_the_given_hosts_and_the_service_hosts() -> None:
    ca = make_local_ca(["media.example"])
    cert = x509.load_pem_x509_certificate(ca.server_cert_pem)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = names.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    assert {"localhost", "media.example", *SERVICE_HOSTS} <= set(dns)
    assert {"127.0.0.1", "::1"} <= set(ips)
    issuer = x509.load_pem_x509_certificate(ca.ca_cert_pem)
    assert cert.issuer == issuer.subject
    assert issuer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


async def test_registration_answers_over_https_to_a_client_that_trusts_the_ca(
    server: Server,
) -> None:
    ca = make_local_ca()
    _host, port = await server.listen_http(tls=ca.server_context())
    assert server.http.base_url == f"https://127.0.0.1:{port}"
    for name in ("127.0.0.1", "v.whatsapp.net"):  # the address, and the service's host
        answer = await https_get(port, "/v2/code?cc=49", ca.client_context(), name)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert json.loads(body) == {"status": "fail", "reason": "missing", "param": "in"}


async def test_a_client_that_does_not_trust_the_ca_is_refused_and_the_server_goes_on(
    server: Server,
) -> None:
    ca = make_local_ca()
    _host, port = await server.listen_http(tls=ca.server_context())
    with pytest.raises(trio.BrokenResourceError):
        await https_get(port, "/v2/code", ssl.create_default_context())  # system CAs only
    # Plain HTTP to the TLS port: dropped, nothing answered, nothing else disturbed.
    async with await trio.open_tcp_stream("127.0.0.1", port) as plain:
        await plain.send_all(b"GET /v2/code HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(15):
            rest = b""
            while chunk := await plain.receive_some(65536):
                rest += chunk
    assert not rest.startswith(b"HTTP/")
    answer = await https_get(port, "/v2/code?cc=49", ca.client_context())
    assert answer.startswith(b"HTTP/1.1 200 ")
