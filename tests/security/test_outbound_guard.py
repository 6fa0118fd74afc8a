"""SSRF: the one outbound guard (connectors/outbound.py) every server-side request goes
through, seen through the HTTP helper all REST connectors and the agents use.

Private, loopback, link-local, CGNAT and IPv4-mapped addresses are refused before any packet
leaves; a name is checked after it resolves, and again when the socket opens (a DNS answer
that changes in between, as in rebinding, is caught); each redirect hop is checked; the
allow-list lets the sandboxes (and a customer's Sage server) through."""

import socket
from collections.abc import Iterator

import pytest

from connectors import outbound
from connectors.errors import OutboundRefused
from connectors.http import HttpClient
from tests.security.outbound_probe import Probe, serving

PUBLIC = "93.184.215.14"  # a public address; never reached (the test's DNS moves the name)


@pytest.fixture
def probe() -> Iterator[Probe]:
    with serving() as running:
        yield running


@pytest.fixture
def second_probe() -> Iterator[Probe]:
    with serving() as running:
        yield running


def client(url: str) -> HttpClient:
    return HttpClient("streak", url, label="Streak", auth=("the-api-key", ""))


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.7:8105/", "private network"),
        ("http://192.168.1.20/", "private network"),
        ("http://[fd00::5]/", "private network"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 written as one number
    ],
)
def test_private_addresses_are_refused_before_anything_is_sent(url, kind):
    with pytest.raises(OutboundRefused) as refused:
        client(url).get("/v1/users/me")

    assert kind in refused.value.message
    assert "CLARITY_OUTBOUND_ALLOWED_HOSTS" in refused.value.message
    assert refused.value.system == "streak" and refused.value.permanent


def test_a_name_is_checked_after_it_resolves(settings, probe):
    settings.CLARITY_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]  # not "localhost"

    with pytest.raises(OutboundRefused) as refused:
        client(f"http://localhost:{probe.port}").get("/v1/users/me")

    assert refused.value.message.startswith("Refused to connect to localhost (127.0.0.1)")
    assert "add localhost to CLARITY_OUTBOUND_ALLOWED_HOSTS" in refused.value.message
    assert probe.seen == []  # the API key never left


def test_the_allow_list_takes_a_name_with_its_port(settings, probe):
    settings.CLARITY_OUTBOUND_ALLOWED_HOSTS = [f"localhost:{probe.port}"]
    probe.status, probe.body, probe.content_type = 200, '{"email": "me"}', "application/json"

    assert client(f"http://localhost:{probe.port}").get("/v1/users/me").json() == {"email": "me"}
    with pytest.raises(OutboundRefused):
        client(f"http://localhost:{probe.port + 1}").get("/v1/users/me")


def test_a_dns_answer_that_changes_after_the_form_checked_it_is_caught_at_connect(
    monkeypatch, probe
):
    answers = iter([PUBLIC, "127.0.0.1"])  # the form's lookup, then the request's

    def rebinding(host: str, port: int) -> list:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(outbound, "resolver", rebinding)
    url = f"http://rebind.example:{probe.port}"
    outbound.validate_url(url)  # what the connection form checks when saved: public

    with pytest.raises(OutboundRefused) as refused:
        client(url).get("/v1/users/me")

    assert "rebind.example (127.0.0.1)" in refused.value.message
    assert probe.seen == []


def test_every_address_of_a_name_is_checked(monkeypatch, probe):
    monkeypatch.setattr(
        outbound,
        "resolver",
        lambda host, port: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ],
    )
    with pytest.raises(OutboundRefused, match=r"two-faced\.example \(10\.1\.2\.3\)"):
        client(f"http://two-faced.example:{probe.port}").get("/v1/users/me")


def test_a_redirect_to_a_refused_address_is_not_followed(probe):
    probe.status, probe.headers = 302, {"Location": "http://169.254.169.254/latest/meta-data/"}

    with pytest.raises(OutboundRefused, match=r"169\.254\.169\.254: it is a link-local address"):
        client(probe.url).get("/v1/users/me")

    assert [request["path"] for request in probe.seen] == ["/v1/users/me"]


def test_each_redirect_hop_meets_the_same_guard(settings, probe, second_probe):
    settings.CLARITY_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    probe.status, probe.headers = 307, {"Location": f"http://localhost:{second_probe.port}/x"}

    with pytest.raises(OutboundRefused, match="localhost"):
        client(probe.url).get("/v1/users/me")

    assert second_probe.seen == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://files.example.com/", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("https://user:pass@api.streak.com", "holds a user name or password"),
    ],
)
def test_urls_of_another_scheme_or_with_credentials_are_refused(url, words):
    with pytest.raises(OutboundRefused, match=words):
        client(url).get("/v1/users/me")


def test_a_link_in_a_reply_is_followed_only_on_the_systems_own_address(probe, second_probe):
    elsewhere = f"points to 127.0.0.1:{second_probe.port}, not to Streak at 127.0.0.1:{probe.port}"
    with pytest.raises(OutboundRefused, match=elsewhere):
        client(probe.url).get(f"{second_probe.url}/next")
    with pytest.raises(OutboundRefused, match="not a path"):
        client(probe.url).get("@evil.example/steal")

    assert second_probe.seen == [] and probe.seen == []
