import pytest
from environ import ImproperlyConfigured

from bankflow.conf import token_list


@pytest.mark.parametrize(
    ("value", "tokens"),
    [
        ("one", ["one"]),
        ("new,old", ["new", "old"]),
        (" new , old ,", ["new", "old"]),
    ],
)
def test_a_token_list_is_comma_separated_first_first(value, tokens):
    assert token_list(value, name="X") == tokens


@pytest.mark.parametrize("value", ["", " , ", ","])
def test_a_token_list_without_a_token_is_refused(value):
    with pytest.raises(ImproperlyConfigured, match="X holds no token"):
        token_list(value, name="X")
