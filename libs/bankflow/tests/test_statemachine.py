import pytest

from bankflow.errors import Conflict, InvalidTransition
from bankflow.statemachine import StateMachine

LIGHT = StateMachine(
    "light", field="colour", transitions={"red": {"green"}, "green": {"amber"}, "amber": {"red"}}
)


class Light:
    def __init__(self, colour: str) -> None:
        self.colour = colour


def test_apply_moves_an_allowed_step_and_says_where_from():
    light = Light("red")
    assert LIGHT.apply(light, "green") == "red"
    assert light.colour == "green"


def test_apply_refuses_a_step_not_in_the_table_and_changes_nothing():
    light = Light("red")
    with pytest.raises(InvalidTransition, match="A red light cannot become amber") as caught:
        LIGHT.apply(light, "amber")
    assert light.colour == "red"
    assert isinstance(caught.value, Conflict)  # the API answers 409
    assert (caught.value.current, caught.value.target) == ("red", "amber")


def test_apply_many_moves_only_those_that_may_and_reports_them():
    lights = [Light("red"), Light("amber"), Light("red")]
    moved = LIGHT.apply_many(lights, "green")
    assert [(obj.colour, previous) for obj, previous in moved] == [("green", "red")] * 2
    assert lights[1].colour == "amber"


def test_sources_and_final_states_come_from_the_table():
    machine = StateMachine("job", field="state", transitions={"new": {"done", "dead"}, "done": ()})
    assert machine.sources("done") == {"new"}
    assert machine.final == {"done", "dead"}
    assert machine.states == {"new", "done", "dead"}
