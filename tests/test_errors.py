"""The one error hierarchy: how a message reads (what was expected, what came, how to fix it)."""

from __future__ import annotations

from loreforge.errors import ConfigError, LoreForgeError, MissingDependency, NotFound, UserError


def test_message_parts_and_full_stops() -> None:
    err = ConfigError("Bad value.", expected="a number", got="'fast'", hint="Fix it in the file")
    assert str(err) == "Bad value — expected a number, got 'fast'. Fix it in the file."
    # A library's message ending in a full stop does not make two.
    assert str(UserError("Cannot apply LoRA", got="modules not found. Please check.", hint="Check `lora_target`")) == \
        "Cannot apply LoRA — got modules not found. Please check. Check `lora_target`."
    assert str(LoreForgeError("Plain")) == "Plain."


def test_kinds_map_to_http_statuses_and_dicts() -> None:
    assert NotFound("x").http_status == 404 and UserError("x").http_status == 400
    missing = MissingDependency("deepspeed", purpose="DeepSpeed")
    assert isinstance(missing, ConfigError)
    assert missing.to_dict()["hint"] == "Install it with `pip install deepspeed`"
