"""Reply parsing of the verifier's MCP client: plain JSON and SSE bodies."""
import pytest

from verify.wire import ReplyFormatError, media_type, response_from_json, response_from_sse, sse_data


def test_media_type_drops_parameters_and_case():
    assert media_type("Text/Event-Stream; charset=utf-8") == "text/event-stream"
    assert media_type(None) == ""


def test_sse_data_joins_multiline_data_and_skips_other_fields():
    lines = ["event: message", "id: 7", "data: {\"a\":", "data:  1}", "", ": comment", "retry: 100", "",
             "data: last"]
    assert list(sse_data(lines)) == ['{"a":\n 1}', "last"]


def test_sse_response_skips_notifications_and_other_ids():
    lines = ['data: {"jsonrpc":"2.0","method":"notifications/message","params":{}}', "",
             'data: {"jsonrpc":"2.0","id":9,"result":{}}', "",
             'data: {"jsonrpc":"2.0","id":3,"result":{"ok":true}}\r', "\r"]
    assert response_from_sse(lines, 3) == {"jsonrpc": "2.0", "id": 3, "result": {"ok": True}}


def test_sse_response_matches_string_ids_from_gateways():
    assert response_from_sse(['data: {"id":"4","error":{"code":-1,"message":"x"}}', ""], 4)["error"]["code"] == -1


def test_sse_stream_without_our_response_is_an_error():
    with pytest.raises(ReplyFormatError, match="without a response to request id 5"):
        response_from_sse(['data: {"id":1,"result":{}}', ""], 5)


def test_sse_event_with_non_json_data_is_an_error():
    with pytest.raises(ReplyFormatError, match="not JSON"):
        response_from_sse(["data: <html>", ""], 1)


def test_json_body_must_be_the_response_to_our_id():
    assert response_from_json('{"jsonrpc":"2.0","id":2,"result":{"x":1}}', 2)["result"] == {"x": 1}
    with pytest.raises(ReplyFormatError, match="not a JSON-RPC response"):
        response_from_json('[{"jsonrpc":"2.0","id":2,"result":{}}]', 2)
    with pytest.raises(ReplyFormatError, match="not JSON"):
        response_from_json("<html>hi</html>", 2)


def test_sse_priming_and_empty_events_are_not_passed_on():
    """MCP 2025-11-25 servers open a stream with an event carrying an id and empty data (SEP-1699)."""
    lines = ["id: 0", "data: ", "", "id: 1", "data:", "data:", "", "data", "", 'data: {"id":3,"result":{}}', ""]
    assert list(sse_data(lines)) == ['{"id":3,"result":{}}']
    assert response_from_sse(["id: 0", "data: ", ""] + lines[-2:], 3) == {"id": 3, "result": {}}


def test_sse_events_of_another_type_are_skipped():
    lines = ["event: ping", "data: keepalive", "", "event: message", 'data: {"id":3,"result":{}}', "",
             "event: endpoint", "data: /other", ""]
    assert list(sse_data(lines)) == ['{"id":3,"result":{}}']
    assert response_from_sse(lines, 3)["id"] == 3


def test_sse_leading_bom_is_ignored_on_the_first_line_only():
    assert list(sse_data(["\ufeffdata: first", "", "\ufeffdata: second", ""])) == ["first"]  # later: field "\ufeffdata"
    assert list(sse_data(["\ufeffevent: ping", "data: x", ""])) == []


def test_sse_field_without_colon_and_value_without_space():
    assert list(sse_data(["data:x", "data", "data:  y", ""])) == ["x\n\n y"]
