from bot.admin import is_command, parse_command


def test_commands_are_parsed_with_their_argument() -> None:
    assert parse_command("/kb search 退货 要 多久") == ("kb search", "退货 要 多久")
    assert parse_command("/kb add Q | A") == ("kb add", "Q | A")
    assert parse_command("/help") == ("help", "")
    assert parse_command("/kb@kefu_bot") == ("kb", "")
    assert parse_command("/help@kefu_bot") == ("help", "")


def test_only_slash_words_are_commands() -> None:
    assert is_command("/kb stats")
    assert not is_command("/")
    assert not is_command("退货 /换货")
