"""HTTPS for the HTTP side: a local certificate authority made on the spot (§4.7, §4.8).

Real clients register and move media over TLS. ``simulator serve --tls`` makes a fresh CA
(an EC P-256 key, valid for a day before and a year after now), signs with it a server
certificate for the names and addresses the HTTP side is reached under (``localhost``,
``127.0.0.1``, the bound host, and the advertised host and the service's own host names
when given), and writes the CA certificate where the user can point their client at it.
Nothing is ever written to a system trust store.

Wrapping is a layer around the plain HTTP connection handler: :func:`tls_handler` turns
``handle_stream(stream)`` into one that first wraps the TCP stream in a server-side
``trio.SSLStream``. Request handling is the same for both.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

import trio

from simulator.records import record

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["DEFAULT_NAMES", "LocalCA", "make_local_ca", "tls_handler"]

DEFAULT_NAMES: Final = ("localhost", "127.0.0.1", "::1")
"""Always in the server certificate."""

SERVICE_HOSTS: Final = ("v.whatsapp.net", "mmg.whatsapp.net", "mms.whatsapp.net")
"""Where real clients register (v.) and move media (mmg./mms.), in the certificate too, so
a hosts-file entry pointing them at the simulator is all a client needs."""

HANDSHAKE_TIMEOUT: Final = 10.0
"""Seconds a peer may take for the TLS handshake before it is dropped."""


@record
class LocalCA:
    """A CA certificate and the server certificate and key it signed (PEM)."""

    ca_cert_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes
    names: tuple[str, ...]
    """The DNS names and IP addresses the server certificate is valid for."""

    def write_ca(self, path: Path) -> None:
        """Write the CA certificate (what clients are told to trust) to ``path``."""
        path.write_bytes(self.ca_cert_pem)

    def server_context(self) -> ssl.SSLContext:
        """A server-side context with the certificate chain loaded (TLS 1.2 and up)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # ssl loads a chain from files only: write it to a private temporary file that is
        # gone as soon as it is loaded.
        with tempfile.NamedTemporaryFile(suffix=".pem") as chain:
            chain.write(self.server_cert_pem + self.server_key_pem)
            chain.flush()
            context.load_cert_chain(chain.name)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client-side context that trusts this CA only (tests, the client library)."""
        return ssl.create_default_context(cadata=self.ca_cert_pem.decode("ascii"))


def make_local_ca(names: Iterable[str] = (), *, days: int = 365) -> LocalCA:
    """A new CA and a server certificate for ``names`` plus :data:`DEFAULT_NAMES` and
    :data:`SERVICE_HOSTS`. Each call makes new keys."""
    # cryptography's x509 is imported here, when a certificate is made (``serve --tls``):
    # every server imports this module for tls_handler, and x509 takes longer to import
    # than the rest of the server's start (tests/test_imports.py lists this module).
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    wanted = list(dict.fromkeys([*DEFAULT_NAMES, *SERVICE_HOSTS, *(n for n in names if n)]))
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "simulator local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([_alt_name(n) for n in wanted]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return LocalCA(
        ca_cert_pem=ca_cert.public_bytes(pem),
        server_cert_pem=cert.public_bytes(pem),
        server_key_pem=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        names=tuple(wanted),
    )


def _alt_name(name: str) -> x509.GeneralName:
    from cryptography import x509  # imported by make_local_ca, the one caller

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def tls_handler(
    context: ssl.SSLContext, handler: Callable[[trio.abc.Stream], Awaitable[None]]
) -> Callable[[trio.SocketStream], Awaitable[None]]:
    """``handler`` behind a server-side TLS layer: each accepted TCP stream is wrapped in
    a ``trio.SSLStream`` and handshaken (within :data:`HANDSHAKE_TIMEOUT`); a peer whose
    handshake fails (plain HTTP, an untrusting client) is dropped quietly."""

    async def serve(tcp: trio.SocketStream) -> None:
        stream = trio.SSLStream(tcp, context, server_side=True, https_compatible=True)
        try:
            with trio.fail_after(HANDSHAKE_TIMEOUT):
                await stream.do_handshake()
        except (trio.BrokenResourceError, trio.TooSlowError, trio.ClosedResourceError):
            await trio.aclose_forcefully(tcp)
            return
        await handler(stream)

    return serve
