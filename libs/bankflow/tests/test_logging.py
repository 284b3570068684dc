import json
import logging.config

from bankflow.logging import configure, correlation, mask_iban, outgoing_headers


def test_ibans_are_masked_inside_text():
    assert mask_iban("from DE89370400440532013000 to x") == "from DE89…3000 to x"


def test_log_lines_are_json_with_correlation_id_and_no_secrets(capsys):
    logging.config.dictConfig(configure(service="svc", level="INFO"))
    import structlog

    log = structlog.get_logger("t")
    with correlation("abc-123"):
        log.info(
            "moved",
            source_account="DE89370400440532013000",
            api_key="sekrit",
            authorization="Bearer x",
        )
        assert outgoing_headers() == {"X-Correlation-ID": "abc-123"}
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "moved"
    assert line["correlation_id"] == "abc-123"
    assert line["service"] == "svc"
    assert line["source_account"] == "DE89…3000"
    assert line["api_key"] == "[redacted]"
    assert "sekrit" not in json.dumps(line)


def test_invalid_correlation_ids_are_replaced():
    with correlation("bad id with spaces\n") as cid:
        assert cid != "bad id with spaces\n"
        assert len(cid) == 32
