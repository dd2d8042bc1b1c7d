"""WeCom (企业微信) callback encryption, on ``cryptography``.

The scheme (WeCom "加解密方案说明"): the AES key is ``base64decode(EncodingAESKey + "=")``
(32 bytes, AES-256-CBC, IV = the key's first 16 bytes, PKCS#7 padding to 32-byte blocks); the
plaintext is ``random(16) + msg_len(4, big-endian) + msg + receive_id`` and the signature is
SHA-1 over the sorted strings ``[token, timestamp, nonce, ciphertext]`` concatenated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.errors import ConfigError, InputError
from core.untrusted import same_secret

_BLOCK_BITS = 256  # WeCom pads to 32 bytes, not AES's 16
_AES_KEY_CHARS = 43


class CallbackRejected(InputError):
    """A callback that must not be processed; ``reason`` is safe to log and print."""

    reason = "rejected"
    http_status = 403


class ForgedSignature(CallbackRejected):
    reason = "signature mismatch (wrong Token, or the request was not sent by WeCom)"


class StaleTimestamp(CallbackRejected):
    reason = "timestamp too far from now (replayed request, or the server clock is wrong)"


class BadCiphertext(CallbackRejected):
    reason = "cannot decrypt (wrong EncodingAESKey, or corrupted data)"
    http_status = 400


class WrongReceiver(CallbackRejected):
    reason = "decrypted, but for another corp id / receiver (wrong CorpID)"


@dataclass(frozen=True, slots=True)
class WeComCrypto:
    """Signs, verifies, encrypts and decrypts WeCom callback payloads for one receiver."""

    token: str
    aes_key: bytes
    receive_id: str

    @classmethod
    def create(cls, token: str, encoding_aes_key: str, receive_id: str) -> WeComCrypto:
        """Build from the values an admin copies out of the WeCom console.

        Raises:
            ConfigError: if the EncodingAESKey is not 43 base64 characters.
        """
        if len(encoding_aes_key) != _AES_KEY_CHARS:
            raise ConfigError(f"EncodingAESKey must be {_AES_KEY_CHARS} characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as e:
            raise ConfigError("EncodingAESKey is not valid base64") from e
        return cls(token=token, aes_key=key, receive_id=receive_id)

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """SHA-1 hex digest over the sorted, concatenated parts."""
        joined = "".join(sorted([self.token, timestamp, nonce, encrypted]))
        return hashlib.sha1(joined.encode("utf-8", "surrogatepass")).hexdigest()

    def verify(
        self,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        encrypted: str,
        *,
        max_age_s: float | None = None,
        now: float | None = None,
    ) -> None:
        """Check the signature and, when ``max_age_s`` is given, the timestamp's freshness.

        Raises:
            ForgedSignature: the signature does not match.
            StaleTimestamp: the timestamp is not a number or is too far from ``now``.
        """
        expected = self.signature(timestamp, nonce, encrypted)
        if not same_secret(msg_signature.lower(), expected):
            raise ForgedSignature()
        if max_age_s is not None:
            current = time.time() if now is None else now
            try:
                sent = int(timestamp)
            except ValueError as e:
                raise StaleTimestamp() from e
            if abs(current - sent) > max_age_s:
                raise StaleTimestamp()

    def decrypt(self, encrypted: str) -> str:
        """Decrypt a base64 ciphertext and check that it is addressed to ``receive_id``.

        Raises:
            BadCiphertext: not base64, not whole blocks, bad padding or a bad length field.
            WrongReceiver: the plaintext names another receiver.
        """
        try:
            data = base64.b64decode(encrypted, validate=True)
            decryptor = self._cipher().decryptor()
            padded = decryptor.update(data) + decryptor.finalize()
            unpadder = padding.PKCS7(_BLOCK_BITS).unpadder()
            plain = unpadder.update(padded) + unpadder.finalize()
        except (binascii.Error, ValueError) as e:
            raise BadCiphertext() from e
        if len(plain) < 20:
            raise BadCiphertext()
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise BadCiphertext()
        message, receiver = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(receiver, self.receive_id.encode("utf-8")):
            raise WrongReceiver()
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadCiphertext() from e

    def encrypt(self, message: str, *, random_prefix: bytes | None = None) -> str:
        """Encrypt ``message`` for this receiver (tests and passive replies use it)."""
        prefix = os.urandom(16) if random_prefix is None else random_prefix
        body = message.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        padder = padding.PKCS7(_BLOCK_BITS).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")

    def open(
        self,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        encrypted: str,
        *,
        max_age_s: float | None = None,
        now: float | None = None,
    ) -> str:
        """:meth:`verify`, then :meth:`decrypt`: what a callback handler does first."""
        self.verify(msg_signature, timestamp, nonce, encrypted, max_age_s=max_age_s, now=now)
        return self.decrypt(encrypted)

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.aes_key), modes.CBC(self.aes_key[:16]))
