import pytest

from queen.config import DEFAULT_URL, ClientConfig, parse_config
from queen.errors import QueenValidationError


def test_defaults_from_guide():
    c = parse_config({})
    assert c.urls == (DEFAULT_URL,)
    assert c.timeout_millis == 30000
    assert c.retry_attempts == 3
    assert c.retry_delay_millis == 1000
    assert c.load_balancing_strategy == "affinity"
    assert c.affinity_hash_ring == 128
    assert c.enable_failover is True
    assert c.health_retry_after_millis == 5000
    assert c.bearer_token is None
    assert dict(c.headers) == {}
    assert c.http2 is False
    assert c.server_version == "auto"
    assert c.pool_size == 100


def test_string_and_list_forms_normalise_trailing_slash():
    assert parse_config("http://a:6632/").urls == ("http://a:6632",)
    assert parse_config(["http://a:1//", "HTTPS://b:2"]).urls == ("http://a:1", "https://b:2")
    assert parse_config(("http://a:1",)).urls == ("http://a:1",)
    assert parse_config({"url": "http://x/base/"}).urls == ("http://x/base",)


def test_full_snake_case_dict():
    c = parse_config(
        {
            "urls": ["http://s1:6632", "http://s2:6632"],
            "timeout_millis": 1500,
            "retry_attempts": 0,
            "retry_delay_millis": 10,
            "load_balancing_strategy": "round-robin",
            "affinity_hash_ring": 16,
            "enable_failover": False,
            "health_retry_after_millis": 50,
            "bearer_token": "tok",
            "headers": {"X-Team": "a"},
            "http2": True,
            "server_version": "0.15",
            "pool_size": 4,
        }
    )
    assert c.urls == ("http://s1:6632", "http://s2:6632")
    assert (c.timeout_millis, c.retry_attempts, c.retry_delay_millis) == (1500, 0, 10)
    assert c.load_balancing_strategy == "round-robin"
    assert (c.affinity_hash_ring, c.enable_failover, c.health_retry_after_millis) == (16, False, 50)
    assert c.http2 and c.server_version == "0.15" and c.pool_size == 4
    assert c.request_headers() == {"X-Team": "a", "Authorization": "Bearer tok"}


def test_camel_case_spellings():
    c = parse_config(
        {
            "urls": ["http://s1"],
            "timeoutMillis": 5,
            "retryAttempts": 1,
            "retryDelayMillis": 2,
            "loadBalancingStrategy": "session",
            "affinityHashRing": 3,
            "enableFailover": False,
            "healthRetryAfterMillis": 7,
            "bearerToken": "t",
            "serverVersion": "0.7",
            "poolSize": 9,
        }
    )
    assert (c.timeout_millis, c.retry_attempts, c.retry_delay_millis) == (5, 1, 2)
    assert c.load_balancing_strategy == "session"
    assert (c.affinity_hash_ring, c.enable_failover, c.health_retry_after_millis) == (3, False, 7)
    assert (c.bearer_token, c.server_version, c.pool_size) == ("t", "0.7", 9)


def test_same_value_in_both_spellings_is_fine_conflict_is_not():
    assert parse_config({"timeout_millis": 5, "timeoutMillis": 5}).timeout_millis == 5
    with pytest.raises(QueenValidationError, match="twice"):
        parse_config({"timeout_millis": 5, "timeoutMillis": 6})


def test_numeric_server_version_accepted():
    assert parse_config({"server_version": 0.15}).server_version == "0.15"


def test_config_instance_passes_through_and_is_frozen():
    c = parse_config("http://a")
    assert parse_config(c) is c
    with pytest.raises(AttributeError):
        c.timeout_millis = 1  # type: ignore[misc]


def test_repr_hides_token_and_headers():
    c = parse_config({"bearer_token": "sekrit", "headers": {"X-Api-Key": "k3y"}})
    assert "sekrit" not in repr(c) and "k3y" not in repr(c)


def test_headers_are_read_only():
    c = parse_config({"headers": {"X-A": "1"}})
    with pytest.raises(TypeError):
        c.headers["X-B"] = "2"  # type: ignore[index]


@pytest.mark.parametrize(
    "arg, fragment",
    [
        ({"load_balancing_strategy": "random"}, "must be one of"),
        ({"urls": []}, "empty"),
        ([], "empty"),
        ("", "non-empty"),
        ({"urls": ["ftp://a"]}, "http://"),
        ("localhost:6632", "http://"),
        ("http://", "host"),
        ("http://a:notaport", "not valid"),
        ("http://a?x=1", "query"),
        ({"urls": ["http://a", "http://a/"]}, "twice"),
        ({"urls": [1]}, "string"),
        ({"urls": 5}, "list"),
        ({"url": "http://a", "urls": ["http://b"]}, "either"),
        ({"timeout_millis": 0}, "positive"),
        ({"timeout_millis": -1}, "positive"),
        ({"timeout_millis": 1.5}, "whole number"),
        ({"timeout_millis": True}, "whole number"),
        ({"retry_attempts": -1}, "zero or more"),
        ({"retry_delay_millis": -5}, "zero or more"),
        ({"affinity_hash_ring": 0}, "positive"),
        ({"health_retry_after_millis": -1}, "zero or more"),
        ({"pool_size": 0}, "positive"),
        ({"pool_size": "10"}, "whole number"),
        ({"enable_failover": "yes"}, "True or False"),
        ({"http2": 1}, "True or False"),
        ({"server_version": "1.0"}, "must be one of"),
        ({"bearer_token": 123}, "bearer_token"),
        ({"bearer_token": "a\nb"}, "line breaks"),
        ({"headers": ["X-A"]}, "dict"),
        ({"headers": {"X-A": 1}}, "string value"),
        ({"headers": {"Bad:Name": "v"}}, "not valid"),
        ({"headers": {"X-A": "v\r\nInjected: 1"}}, "line breaks"),
        ({"timeout": 5}, "unknown client option 'timeout'"),
        ({3: "x"}, "unknown client option"),
        (42, "URL string"),
        (None, "URL string"),
    ],
)
def test_validation_errors(arg, fragment):
    with pytest.raises(QueenValidationError, match=fragment) as info:
        parse_config(arg)
    assert isinstance(info.value, ValueError)


def test_unknown_key_message_lists_valid_options():
    with pytest.raises(QueenValidationError) as info:
        parse_config({"retries": 3})
    assert "retry_attempts" in str(info.value)


def test_empty_token_means_none():
    c = parse_config({"bearer_token": ""})
    assert c.bearer_token is None and "Authorization" not in c.request_headers()


def test_direct_dataclass_defaults_match_parse():
    assert ClientConfig() == parse_config({})
