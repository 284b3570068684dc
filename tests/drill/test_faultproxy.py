"""The drill's fault proxy: transparent when off, slow or failing when told."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from scripts.faultproxy import FaultProxy
from scripts.servers import free_port


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args: object) -> None:
        return None


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    proxied = FaultProxy(free_port(), upstream.server_address[1]).start()
    yield proxied
    proxied.close()
    upstream.shutdown()


def test_off_it_passes_requests_through(proxy):
    with requests.Session() as session:
        assert [session.get(proxy.url, timeout=5).text for _ in range(3)] == ["ok"] * 3


def test_latency_delays_each_answer_until_switched_off(proxy):
    proxy.set_latency(0.3)
    started = time.perf_counter()
    assert requests.get(proxy.url, timeout=5).text == "ok"
    assert time.perf_counter() - started >= 0.6  # the request and the answer each wait
    proxy.set_latency(0.0)
    started = time.perf_counter()
    requests.get(proxy.url, timeout=5)
    assert time.perf_counter() - started < 0.3


def test_http_500_reaches_clients_that_keep_their_connection(proxy):
    with requests.Session() as session:
        assert session.get(proxy.url, timeout=5).status_code == 200
        proxy.set_http_500(True)
        time.sleep(0.1)
        # the kept-alive connection was closed: the session reconnects and gets the fault
        answers = []
        for _ in range(2):
            try:
                answers.append(session.get(proxy.url, timeout=5).status_code)
            except requests.ConnectionError:
                answers.append("reset")
        assert 500 in answers and 200 not in answers
        proxy.set_http_500(False)
        assert session.get(proxy.url, timeout=5).status_code == 200
    assert proxy.answered_500 >= 1


def test_an_upstream_that_is_down_closes_the_client_connection():
    proxied = FaultProxy(free_port(), free_port()).start()
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get(proxied.url, timeout=5)
    finally:
        proxied.close()
