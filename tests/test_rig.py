"""The rig gives the tests real servers, not stand-ins."""

import json
import os
import socket
import urllib.request
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest
import redis
from django.conf import settings
from django.db import connection

from tests import rig as rig_module


@pytest.mark.django_db
def test_database_is_a_real_postgresql_server(rig):
    assert connection.vendor == "postgresql"
    assert connection.pg_version >= 150000
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), inet_server_addr(), inet_server_port()")
        database, address, port = cursor.fetchone()
    assert database.startswith("test_")
    assert str(address) == "127.0.0.1"
    assert f":{port}/" in os.environ["DATABASE_URL"]
    assert rig.require("postgresql").url == os.environ["DATABASE_URL"]


def test_redis_is_a_real_redis_server():
    assert settings.REDIS_URL == os.environ["REDIS_URL"]
    assert settings.CELERY_BROKER_URL == os.environ["REDIS_URL"]
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert client.ping() is True
    client.set("rig:probe", "réel", ex=60)
    assert client.get("rig:probe").decode() == "réel"
    assert int(client.info("server")["redis_version"].split(".")[0]) >= 6


def test_celery_broker_is_the_rig_redis():
    from panel.celery import app

    assert app.conf.broker_url == os.environ["REDIS_URL"]
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.default_channel.client.ping() is True


def test_panel_files_go_to_the_rig_directory(rig):
    assert settings.VAR_DIR == rig.dir / "var"


def test_a_server_stops_and_frees_its_port():
    """Start a second, private Redis through the same classes, and stop it."""
    environ: dict[str, str] = {}  # keeps the session's own variables untouched
    other = rig_module.Rig(environ)
    try:
        server = other.require("redis")
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        assert redis.Redis(port=port).ping() is True
    finally:
        other.stop()
    assert server.proc is None
    assert environ["REDIS_URL"] == server.url != os.environ["REDIS_URL"]
    assert not other.dir.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_a_missing_binary_fails_with_an_install_hint(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(rig_module.RigError, match=r"apt-get install -y redis-server"):
        rig_module.find_binary("redis-server", package="redis-server")


def _powerdns_api(server, method: str, path: str, body: dict | None = None) -> int:
    """One call to PowerDNS's HTTP API with the rig's key; the HTTP status."""
    request = urllib.request.Request(
        f"{server.api_url}/servers/localhost{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-API-Key": server.api_key, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def test_powerdns_serves_a_zone_made_through_its_api(rig):
    """PowerDNS from deploy/pdns/pdns.conf: a zone created and filled through the HTTP API
    is answered over UDP and TCP at once, and refused once it is deleted."""
    server = rig.require("powerdns")
    assert os.environ["PANEL_POWERDNS_API_URL"] == server.api_url
    assert os.environ["PANEL_POWERDNS_API_KEY"] == server.api_key
    assert os.environ["PANEL_POWERDNS_SERVER_ID"] == "localhost"
    zone = "rig-probe.test."
    status = _powerdns_api(
        server,
        "POST",
        "/zones",
        {"name": zone, "kind": "Native", "nameservers": ["ns1.rig-probe.test."]},
    )
    assert status == 201
    record = {"name": f"www.{zone}", "type": "A", "ttl": 300, "changetype": "REPLACE",
              "records": [{"content": "192.0.2.10", "disabled": False}]}  # fmt: skip
    assert _powerdns_api(server, "PATCH", f"/zones/{zone}", {"rrsets": [record]}) == 204

    query = dns.message.make_query(f"www.{zone}", "A")
    for send in (dns.query.udp, dns.query.tcp):
        answer = send(query, "127.0.0.1", port=server.dns_port, timeout=5)
        assert answer.rcode() == dns.rcode.NOERROR
        assert answer.flags & dns.flags.AA
        assert [rr.address for rrset in answer.answer for rr in rrset] == ["192.0.2.10"]
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], server.dns_port
    assert [rr.target.to_text() for rr in resolver.resolve(zone, "NS")] == ["ns1.rig-probe.test."]

    assert _powerdns_api(server, "DELETE", f"/zones/{zone}") == 204
    for send in (dns.query.udp, dns.query.tcp):
        answer = send(query, "127.0.0.1", port=server.dns_port, timeout=5)
        assert answer.rcode() == dns.rcode.REFUSED


def test_powerdns_without_its_backend_names_the_package(monkeypatch):
    monkeypatch.setattr(rig_module.PowerDnsServer, "schema", Path("/nonexistent/schema.sql"))
    other = rig_module.Rig({})
    try:
        with pytest.raises(rig_module.RigError, match=r"apt-get install -y pdns-backend-sqlite3"):
            other.require("powerdns")
    finally:
        other.stop()
