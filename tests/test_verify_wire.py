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
