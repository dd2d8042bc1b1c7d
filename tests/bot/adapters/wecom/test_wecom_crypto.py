"""WeCom callback crypto against the worked examples WeCom publishes, and the ways it must fail.

Worked example 1 ("QDG6eK"): the values in WeCom's official callback sample code that goes
with the "加解密方案说明" page (developer.work.weixin.qq.com/document/path/90968): Tencent's
WXBizMsgCrypt C# ``Sample.cs`` and the comments of github.com/sbzhu/weworkapi_python
``callback/Sample.py`` (the WeCom team's Python library): the verification GET
``/cgi-bin/wxpush?msg_signature=5c45ff5e...&timestamp=1409659589&nonce=263014780&echostr=...``
and the POST with ``msg_signature=477715d1...&timestamp=1409659813&nonce=1372623149``.

Worked example 2: the live values in sbzhu/weworkapi_python ``callback/Sample.py`` (Token
``hJqcu3uJ...``, CorpID ``ww1436e0e65a779aee``).
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.adapters.wecom.convert import fields_of
from bot.adapters.wecom.crypto import (
    BadCiphertext,
    ForgedSignature,
    StaleTimestamp,
    WeComCrypto,
    WrongReceiver,
)
from core.errors import ConfigError

DOC = WeComCrypto.create(
    "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
)
DOC_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
DOC_POST_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCU"
    "pj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgp"
    "ue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqC"
    "KIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9"
    "o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs"
    "2pDBS8R07+qN+E7Q=="
)

SAMPLE = WeComCrypto.create(
    "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    "ww1436e0e65a779aee",
)
SAMPLE_ECHOSTR = (
    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
)


def test_official_url_verification_example_decrypts_to_the_echo() -> None:
    echo = DOC.open(
        "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", DOC_ECHOSTR
    )
    assert echo == "1616140317555161061"


def test_official_message_example_decrypts_to_the_customers_text() -> None:
    plain = DOC.open(
        "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", DOC_POST_ENCRYPT
    )
    fields = fields_of(plain)
    assert (fields["FromUserName"], fields["Content"], fields["MsgId"]) == (
        "mycreate",
        "hello",
        "4561255354251345929",
    )


def test_weworkapi_python_sample_verifies() -> None:
    echo = SAMPLE.open(
        "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", SAMPLE_ECHOSTR
    )
    assert echo == "1288432023552776189"


def test_encrypt_round_trips_and_pads_to_32_byte_blocks() -> None:
    for text in ("", "你好", "x" * 31, "x" * 32, "<xml>" + "客服" * 500 + "</xml>"):
        encrypted = DOC.encrypt(text)
        assert len(base64.b64decode(encrypted)) % 32 == 0
        assert DOC.decrypt(encrypted) == text


def test_forged_signature_is_rejected() -> None:
    with pytest.raises(ForgedSignature):
        DOC.open("0" * 40, "1409659589", "263014780", DOC_ECHOSTR)
    with pytest.raises(ForgedSignature):  # right signature, tampered ciphertext
        DOC.open(
            "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
            "1409659589",
            "263014780",
            DOC_ECHOSTR.replace("P9n", "P9m"),
        )


def test_stale_or_future_timestamp_is_rejected_when_age_is_checked() -> None:
    signature, ts, nonce = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780"
    with pytest.raises(StaleTimestamp):
        DOC.verify(signature, ts, nonce, DOC_ECHOSTR, max_age_s=300, now=1409659589 + 301)
    with pytest.raises(StaleTimestamp):
        DOC.verify(signature, ts, nonce, DOC_ECHOSTR, max_age_s=300, now=1409659589 - 301)
    DOC.verify(signature, ts, nonce, DOC_ECHOSTR, max_age_s=300, now=1409659589 + 299)


def test_wrong_corp_id_is_rejected() -> None:
    other = WeComCrypto(DOC.token, DOC.aes_key, "wx0000000000000000")
    with pytest.raises(WrongReceiver):
        other.decrypt(DOC_ECHOSTR)


def test_bad_padding_wrong_key_and_garbage_are_rejected_not_crashes() -> None:
    wrong_key = WeComCrypto.create("QDG6eK", "A" * 43, "wx5823bf96d3bd56c7")
    with pytest.raises(BadCiphertext):
        wrong_key.decrypt(DOC_ECHOSTR)
    with pytest.raises(BadCiphertext):
        DOC.decrypt("not base64!!")
    with pytest.raises(BadCiphertext):
        DOC.decrypt(base64.b64encode(b"\x00" * 20).decode())  # not whole blocks
    encryptor = Cipher(algorithms.AES(DOC.aes_key), modes.CBC(DOC.aes_key[:16])).encryptor()
    bad_pad = encryptor.update(b"\x00" * 31 + b"\x40") + encryptor.finalize()  # pad byte 64
    with pytest.raises(BadCiphertext):
        DOC.decrypt(base64.b64encode(bad_pad).decode())


def test_malformed_encoding_aes_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="43"):
        WeComCrypto.create("t", "short", "corp")
    with pytest.raises(ConfigError, match="base64"):
        WeComCrypto.create("t", "!" * 43, "corp")
