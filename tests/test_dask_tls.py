"""A Dask cluster that lets no one in: TLS with certificates, for the sweep's Dask executor.

One TLS LocalCluster (``start_local_cluster(2, security=Security.temporary())``:
a throw-away CA, in memory) serves the module.  Its certificates are also
written to files, which a sweep finds where every Dask client looks: Dask's
configuration, here the ``DASK_DISTRIBUTED__COMM__TLS__*`` variables of
docs/dask.md.  Clients without the cluster's certificate must be refused, and a
``tls://`` address without certificates, or with a missing or broken file, must
give an error that names the file or the setting.
"""
import csv
import os
import re
import shlex
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")   # the 'dist' extra; .ci/run installs it
pytest.importorskip("cryptography")                 # Security.temporary() makes its certificates with it

import dask  # noqa: E402
from distributed.security import Security  # noqa: E402

from experiments import sweep as sweep_cli  # noqa: E402
from minidl.runs.cli import main  # noqa: E402
from minidl.runs.config import ConfigError  # noqa: E402
from minidl.runs.dask_tls import TLSConfigError  # noqa: E402
from minidl.runs.executors import DaskExecutor, start_local_cluster  # noqa: E402
from test_sweep_dask import write_sweep  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TLS_KEYS = ("distributed.comm.tls.ca-file", "distributed.comm.tls.client.cert", "distributed.comm.tls.client.key")
NO_CERTIFICATES = {key: None for key in TLS_KEYS}
ENV = {"distributed.comm.tls.ca-file": "DASK_DISTRIBUTED__COMM__TLS__CA_FILE",
       "distributed.comm.tls.client.cert": "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT",
       "distributed.comm.tls.client.key": "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY"}


def write_certificates(security: Security, folder: Path) -> dict:
    """The in-memory PEM blocks of ``security`` as files; returns {Dask config key: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for key, name, pem in zip(TLS_KEYS, ("ca.pem", "cert.pem", "key.pem"),
                              (security.tls_ca_file, security.tls_client_cert, security.tls_client_key)):
        (folder / name).write_text(pem)
        files[key] = str(folder / name)
    return files


@pytest.fixture(scope="module")
def security():
    """A CA made for this module, in memory, and one certificate signed by it for every role."""
    return Security.temporary()


@pytest.fixture(scope="module")
def tls_cluster(security):
    """2 single-threaded worker processes; every connection TLS, with ``security``'s certificates."""
    cluster = start_local_cluster(2, security=security)
    yield cluster, security
    cluster.close()


@pytest.fixture
def certificate_files(security, tmp_path):
    return write_certificates(security, tmp_path / "certs")


# ---- the cluster: TLS everywhere, and only for holders of its certificate --------------------

def test_the_local_cluster_is_tls_everywhere(tls_cluster):
    cluster, security = tls_cluster
    assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
    with distributed.Client(cluster) as client:             # the cluster's own Security
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2 and all(address.startswith("tls://") for address in workers)
        assert client.submit(sum, [1, 2, 3], pure=False).result(timeout=20) == 6


def test_clients_without_the_clusters_certificate_are_refused(tls_cluster):
    cluster, _ = tls_cluster
    address = cluster.scheduler_address
    with pytest.raises(OSError):                             # plain TCP to the TLS port: the handshake fails
        distributed.Client(address.replace("tls://", "tcp://"), timeout="5s")
    with pytest.raises(OSError, match="TLS certificate does not match"):   # a certificate from another CA
        distributed.Client(address, timeout="5s", security=Security.temporary())
    with pytest.raises(TLSConfigError, match="no CA certificate"), dask.config.set(NO_CERTIFICATES):
        with DaskExecutor(address):                          # no certificate at all: refused before connecting
            pass


def tls12_handshake(address: str, context: ssl.SSLContext) -> str:
    """A bare TLS 1.2 handshake with the scheduler; returns the version, or raises ssl.SSLError if refused.

    In TLS 1.2 the server checks the client's certificate before the handshake
    ends, so a refusal always shows here (in 1.3 it may arrive later, or as a
    bare EOF).
    """
    host, port = address.removeprefix("tls://").rsplit(":", 1)
    context.check_hostname = False                       # Dask's certificates name no host
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((host, int(port)), timeout=5) as raw, context.wrap_socket(raw) as tls:
        return tls.version()


def test_the_scheduler_itself_refuses_a_client_that_shows_no_certificate(tls_cluster, certificate_files):
    """A client that trusts the cluster's CA, so its own side of the handshake is content, but shows no certificate."""
    cluster, _ = tls_cluster
    with_certificate = ssl.create_default_context(cafile=certificate_files["distributed.comm.tls.ca-file"])
    with_certificate.load_cert_chain(certificate_files["distributed.comm.tls.client.cert"],
                                     certificate_files["distributed.comm.tls.client.key"])
    assert tls12_handshake(cluster.scheduler_address, with_certificate) == "TLSv1.2"
    without = ssl.create_default_context(cafile=certificate_files["distributed.comm.tls.ca-file"])
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE|CERTIFICATE_REQUIRED"):
        tls12_handshake(cluster.scheduler_address, without)


def test_the_local_cluster_serves_its_dashboard_on_this_machine_only(tls_cluster):
    """The scheduler's HTTP server (dashboard, logs, call stacks) runs in this process: no socket on 0.0.0.0."""
    import psutil
    cluster, _ = tls_cluster
    process = psutil.Process()
    connections = process.net_connections(kind="tcp") if hasattr(process, "net_connections") else \
        process.connections(kind="tcp")
    listening = {(c.laddr.ip, c.laddr.port) for c in connections if c.status == psutil.CONN_LISTEN}
    port = cluster.scheduler.http_server.port
    assert listening and all(ip == "127.0.0.1" for ip, _ in listening), listening
    assert ("127.0.0.1", port) in listening and cluster.dashboard_link.startswith("http://127.0.0.1:")


def test_the_executors_own_local_cluster_lets_no_other_user_of_this_machine_in():
    """127.0.0.1 is open to every user of the machine: `--executor dask` alone starts a TLS cluster."""
    with DaskExecutor(workers=1) as executor:
        address = executor.cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:") and f"a local cluster at {address}" in executor.describe()
        with pytest.raises(OSError):
            distributed.Client(address.replace("tls://", "tcp://"), timeout="5s")
        with pytest.raises(OSError, match="TLS certificate does not match"):
            distributed.Client(address, timeout="5s", security=Security.temporary())


@pytest.mark.integration
def test_a_sweep_runs_on_the_tls_cluster_with_certificates_from_dask_environment_variables(
        tls_cluster, certificate_files, tmp_path, real_mnist_dir):
    """The command line, in a process of its own, as a user runs it: the certificates come from the environment."""
    cluster, _ = tls_cluster
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.update({ENV[key]: path for key, path in certificate_files.items()})
    sweep_file = write_sweep(tmp_path / "tiny.yaml", tmp_path / "runs", real_mnist_dir, seeds=None)   # 2 points
    command = [sys.executable, "-m", "experiments.sweep", str(sweep_file),
               "--scheduler", cluster.scheduler_address]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"2 workers on {cluster.scheduler_address}" in done.stdout and "[2/2]" in done.stdout
    with open(tmp_path / "runs" / "sweep-tiny" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["completed"] * 2 and all(float(r["test_acc"]) > 0.3 for r in rows)


# ---- the errors a user sees ----------------------------------------------------------------

def test_a_tls_scheduler_without_certificates_is_a_config_error_naming_the_settings(tmp_path, capsys, real_mnist_dir):
    with dask.config.set(NO_CERTIFICATES):      # the data is found first, before any folder: give it
        status = main(sweep_cli, [str(REPO / "configs/sweeps/twolayer_lr.yaml"), "--scheduler", "tls://10.0.0.5:8786",
                                  "--set", f"Output.dir={tmp_path}", "--set", f"Sweep.set.Data.dir={real_mnist_dir}"])
    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith("error: cannot connect to tls://10.0.0.5:8786: a tls:// scheduler needs this client's "
                            "certificates, and Dask's configuration has no CA certificate "
                            "(distributed.comm.tls.ca-file) and no client certificate "
                            "(distributed.comm.tls.client.cert)")
    for setting in (*TLS_KEYS, *ENV.values(), "~/.config/dask/distributed.yaml"):
        assert setting in error
    assert issubclass(TLSConfigError, ConfigError) and issubclass(TLSConfigError, ValueError)


def test_a_missing_certificate_file_is_named_with_its_setting(certificate_files, tmp_path):
    missing = tmp_path / "nowhere" / "ca.pem"
    with dask.config.set({**certificate_files, "distributed.comm.tls.ca-file": str(missing)}):
        with pytest.raises(TLSConfigError) as error, DaskExecutor("tls://127.0.0.1:8786"):
            pass
    assert str(error.value) == (f"cannot connect to tls://127.0.0.1:8786: the CA certificate {missing} does not "
                                "exist; it comes from distributed.comm.tls.ca-file "
                                "(or DASK_DISTRIBUTED__COMM__TLS__CA_FILE) in Dask's configuration")


@pytest.mark.parametrize("key, content, expected", [
    ("distributed.comm.tls.client.cert", None, r"the client certificate \S+ cannot be read \(Is a directory\)"),
    ("distributed.comm.tls.ca-file", "not a certificate\n", r"the CA certificate \S+/broken.pem is not a PEM "),
    ("distributed.comm.tls.client.key", "not a key\n", r"the client certificate \S+/cert.pem with the key "
                                                        r"\S+/broken.pem does not load"),
], ids=["a directory", "not PEM", "a key that does not load"])
def test_an_unreadable_or_broken_certificate_file_is_named(certificate_files, tmp_path, key, content, expected):
    broken = tmp_path if content is None else tmp_path / "broken.pem"
    if content is not None:
        broken.write_text(content)
    with dask.config.set({**certificate_files, key: str(broken)}):
        with pytest.raises(TLSConfigError, match=expected), DaskExecutor("tls://127.0.0.1:8786"):
            pass


# ---- what docs/dask.md tells users to do -----------------------------------------------------

def documented_openssl_commands() -> list[list[str]]:
    text = (REPO / "docs" / "dask.md").read_text()
    lines = [line for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines()]
    return [shlex.split(line.split(" #")[0]) for line in lines if line.startswith("openssl ")]


def test_the_documented_openssl_commands_make_certificates_a_tls_cluster_accepts(tmp_path, monkeypatch):
    """Step 0 of docs/dask.md, run in a folder standing for ~/.minidl-dask; the client names its files with '~'."""
    commands = documented_openssl_commands()
    assert commands, "docs/dask.md should show how to make the certificates with openssl"
    if subprocess.run(["openssl", "version"], capture_output=True).returncode != 0:
        pytest.skip("no openssl command here")
    for command in commands:
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{shlex.join(command)}: {done.stderr}"
    files = {key: str(tmp_path / name) for key, name in zip(TLS_KEYS, ("ca.pem", "cert.pem", "key.pem"))}
    roles = {f"tls_{role}_{part}": files[f"distributed.comm.tls.client.{part}"]
             for role in ("scheduler", "worker", "client") for part in ("cert", "key")}
    as_started = Security(require_encryption=True, tls_ca_file=files["distributed.comm.tls.ca-file"], **roles)
    monkeypatch.setenv("HOME", str(tmp_path))
    as_in_the_yaml_file = {key: "~/" + Path(path).name for key, path in files.items()}
    with distributed.LocalCluster(n_workers=1, processes=False, security=as_started,
                                  dashboard_address="127.0.0.1:0") as cluster:
        with dask.config.set(as_in_the_yaml_file), DaskExecutor(cluster.scheduler_address) as executor:
            assert executor.client.submit(sum, [1, 2], pure=False).result(timeout=20) == 3
