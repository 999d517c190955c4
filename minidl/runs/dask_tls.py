"""The certificates a minidl client shows a ``tls://`` Dask scheduler.

A scheduler started as ``dask scheduler --tls-ca-file ca.pem --tls-cert cert.pem
--tls-key key.pem`` talks TLS only, and only to a peer whose certificate is
signed by ``ca.pem``: Dask sets ``CERT_REQUIRED`` on both ends.  So a client
needs three things: the CA certificate (to trust the scheduler), and a
certificate signed by that CA with its private key (to be trusted).

minidl looks for them where every Dask client does, in Dask's configuration,
which ``distributed.security.Security()`` reads:

===================================  =============================================
``distributed.comm.tls.ca-file``      ``DASK_DISTRIBUTED__COMM__TLS__CA_FILE``
``distributed.comm.tls.client.cert``  ``DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT``
``distributed.comm.tls.client.key``   ``DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY``
===================================  =============================================

either in a YAML file under ``~/.config/dask/`` or in the environment variables
on the right.  ``client_security`` checks them before connecting, so that a
missing or unreadable file is an error naming the file and the setting, rather
than Dask's ``TypeError`` about an ``ssl_context``.  A value holding a PEM
block itself (a newline in it, as ``Security.temporary()`` makes) is used as is.
"""
from __future__ import annotations

import ssl
from pathlib import Path

from minidl.runs.executors import ExecutorError

__all__ = ["TLSConfigError", "client_security", "SETTINGS"]

# Security field -> (what it is, Dask config key, environment variable)
SETTINGS = {
    "tls_ca_file": ("CA certificate", "distributed.comm.tls.ca-file", "DASK_DISTRIBUTED__COMM__TLS__CA_FILE"),
    "tls_client_cert": ("client certificate", "distributed.comm.tls.client.cert",
                        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT"),
    "tls_client_key": ("client key", "distributed.comm.tls.client.key", "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY"),
}
HOW = ("point distributed.comm.tls.ca-file, distributed.comm.tls.client.cert and distributed.comm.tls.client.key "
       "at your files in ~/.config/dask/distributed.yaml, or set DASK_DISTRIBUTED__COMM__TLS__CA_FILE, "
       "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY (see docs/dask.md)")


class TLSConfigError(ExecutorError):
    """A ``tls://`` scheduler, but this client's certificates are not set, not there, or do not load."""


def client_security(scheduler: str | None, security=None):
    """The ``distributed.security.Security`` a client connects to ``scheduler`` with.

    Inputs:
    - scheduler: the scheduler's address, e.g. ``'tls://10.0.0.5:8786'``
    - security: a ``Security``; None reads Dask's configuration (``Security()``)

    Returns ``security`` unchanged for any other address, and when Dask's own
    ``distributed.client.security-loader`` is to find the certificates: None then
    leaves the choice to ``Client``, as Dask does.  Otherwise, for a ``tls://``
    address, it checks that the CA certificate and the client certificate are
    set, that every file named exists and is readable, and that they load; else
    it raises TLSConfigError naming the file and the setting.  A leading ``~``
    in a file name is expanded (Dask would not).
    """
    import dask
    from distributed.security import Security
    if not str(scheduler or "").startswith("tls://"):
        return security
    if security is None and dask.config.get("distributed.client.security-loader", None):
        return None
    security = Security() if security is None else security
    for field in SETTINGS:                  # a YAML file's '~/ca.pem': Dask itself would look for a folder named '~'
        value = getattr(security, field)
        if value and not _in_memory(value):
            setattr(security, field, str(Path(value).expanduser()))
    where = f"cannot connect to {scheduler}"
    missing = [field for field in ("tls_ca_file", "tls_client_cert") if not getattr(security, field)]
    if missing:
        named = " and no ".join(f"{SETTINGS[f][0]} ({SETTINGS[f][1]})" for f in missing)
        raise TLSConfigError(f"{where}: a tls:// scheduler needs this client's certificates, and Dask's "
                             f"configuration has no {named}; {HOW}")
    for field in SETTINGS:
        _check_readable(security, field, where)
    _check_loads(security, where)
    return security


def _in_memory(value) -> bool:
    """A PEM block given as text rather than a file name (Dask's convention: it holds a newline)."""
    return isinstance(value, str) and "\n" in value


def _check_readable(security, field: str, where: str) -> None:
    """Raise TLSConfigError if ``security``'s ``field`` names a file that is not there or cannot be read."""
    value = getattr(security, field)
    if not value or _in_memory(value):
        return
    what, key, env = SETTINGS[field]
    path = Path(value)
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        reason = "does not exist" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc.strerror})"
        raise TLSConfigError(f"{where}: the {what} {path} {reason}; it comes from {key} "
                             f"(or {env}) in Dask's configuration") from None


def _check_loads(security, where: str) -> None:
    """Raise TLSConfigError if the CA certificate, or the client certificate with its key, does not load."""
    ca = security.tls_ca_file
    try:
        ssl.create_default_context(**({"cadata": ca} if _in_memory(ca) else {"cafile": ca}))
    except (ssl.SSLError, ValueError) as exc:
        raise TLSConfigError(f"{where}: the CA certificate {_name(ca)} is not a PEM certificate ({exc})") from None
    try:
        security.get_connection_args("client")
    except (ssl.SSLError, ValueError) as exc:
        cert, key = security.tls_client_cert, security.tls_client_key
        with_key = (f" with the key {_name(key)}" if key else
                    " (no client key is set, distributed.comm.tls.client.key, so the key must be in that file)")
        raise TLSConfigError(f"{where}: the client certificate {_name(cert)}{with_key} does not load ({exc}); "
                             f"both must be PEM, the key unencrypted and matching the certificate") from None


def _name(value) -> str:
    return "(given in memory)" if _in_memory(value) else str(value)
