"""The payload codec: AES-256-GCM with key ids, rotation, and tamper detection; the keys
from configuration; and ``tada codec-server`` over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import stat
from contextlib import asynccontextmanager
from types import SimpleNamespace

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from tada.adapters import converter as converter_module
from tada.adapters.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadDecryptionError
from tada.adapters.converter import UNENCRYPTED_WARNING, converter_for, data_converter, warn_if_unencrypted
from tada.adapters.keys import (
    PayloadKey,
    PayloadKeyError,
    configured_keys,
    ensure_local_keys,
    new_key_line,
    parse_keys,
)
from tada.domain.models import EscalationContact
from tada.domain.states import Escalation
from tada.kit.ports import free_port
from tada.servers.codec import CodecServerRefused, build_server
from tada.settings import Settings

SECRET = "abuse-desk@secret-host.test"


def key(key_id: str) -> PayloadKey:
    return parse_keys(new_key_line(key_id))[0]


async def plain_payloads(*values) -> list[Payload]:
    return await pydantic_data_converter.encode(list(values))


# --- the codec --------------------------------------------------------------------------------


async def test_round_trip_hides_the_plaintext_and_restores_the_payload():
    codec = EncryptionCodec([key("k1")])
    originals = await plain_payloads(EscalationContact(email=SECRET, kind=Escalation.HOST), "a note", None)
    encoded = await codec.encode(originals)
    for payload in encoded:
        assert payload.metadata["encoding"] == ENCODING
        assert payload.metadata[KEY_ID] == b"k1"
        assert SECRET.encode() not in payload.SerializeToString()
    assert await codec.decode(encoded) == originals


async def test_the_data_converter_encrypts_values_and_failures():
    converter = converter_for([key("k1")])
    [payload] = await converter.encode([EscalationContact(email=SECRET, kind=Escalation.HOST)])
    assert payload.metadata["encoding"] == ENCODING
    [value] = await converter.decode([payload], [EscalationContact])
    assert value.email == SECRET
    assert converter_for([]) is pydantic_data_converter


async def test_key_rotation_old_payloads_still_decode_new_ones_use_the_new_key():
    old, new = key("old"), key("new")
    before = await EncryptionCodec([old]).encode(await plain_payloads("written under the old key"))
    rotated = EncryptionCodec([new, old])
    assert rotated.key_id == "new"
    assert await rotated.decode(before) == await plain_payloads("written under the old key")
    after = await rotated.encode(await plain_payloads("written under the new key"))
    assert after[0].metadata[KEY_ID] == b"new"
    with pytest.raises(PayloadDecryptionError, match="'new'"):
        await EncryptionCodec([old]).decode(after)  # a worker not yet given the new key says so


async def test_unknown_key_id_is_a_clear_error():
    encoded = await EncryptionCodec([key("gone")]).encode(await plain_payloads("x"))
    with pytest.raises(PayloadDecryptionError, match=r"key id 'gone'.*not among the configured keys \(other\)"):
        await EncryptionCodec([key("other")]).decode(encoded)


async def test_tampered_ciphertext_is_refused():
    k = key("k1")
    codec = EncryptionCodec([k])
    [payload] = await codec.encode(await plain_payloads("do not touch"))
    flipped = bytearray(payload.data)
    flipped[-1] ^= 0x01
    tampered = Payload(metadata=dict(payload.metadata), data=bytes(flipped))
    with pytest.raises(PayloadDecryptionError, match="altered or is corrupt"):
        await codec.decode([tampered])
    truncated = Payload(metadata=dict(payload.metadata), data=payload.data[:8])
    with pytest.raises(PayloadDecryptionError):
        await codec.decode([truncated])
    # the key id is bound to the ciphertext: relabelling a payload does not make it decrypt
    same_key_other_id = EncryptionCodec([k, PayloadKey("k2", k.key)])
    relabelled = Payload(metadata={**payload.metadata, KEY_ID: b"k2"}, data=payload.data)
    with pytest.raises(PayloadDecryptionError):
        await same_key_other_id.decode([relabelled])


async def test_payloads_that_are_not_encrypted_pass_through_decode():
    plain = await plain_payloads({"state": "REPORTED"})
    assert await EncryptionCodec([key("k1")]).decode(plain) == plain


# --- keys from configuration ---------------------------------------------------------------


def test_parse_keys_accepts_several_and_names_a_bad_one_by_id_only():
    line_a, line_b = new_key_line("a"), new_key_line("b")
    assert [k.key_id for k in parse_keys(f"{line_a}, {line_b}")] == ["a", "b"]
    urlsafe = "u:" + base64.urlsafe_b64encode(bytes(range(200, 232))).decode().rstrip("=")
    assert parse_keys(urlsafe)[0].key == bytes(range(200, 232))
    assert parse_keys("") == []
    short = "short:" + base64.b64encode(b"x" * 16).decode()
    for text, message in [
        (short, "key 'short' is 16 bytes; AES-256 needs 32"),
        ("nokey", "entry 1 is not `id:base64key`"),
        ("bad:%%%not-base64%%%", "key 'bad' is not valid base64"),
        (f"{line_a},{line_a}", "'a' is listed twice"),
        ("has space:" + line_a.split(":")[1], "entry 1"),
    ]:
        with pytest.raises(PayloadKeyError, match=message) as error:
            parse_keys(text)
        assert text.rpartition(":")[2] not in str(error.value)  # never the key itself
    assert "key=" not in repr(parse_keys(line_a)[0])


def test_keys_come_from_the_setting_else_from_the_local_file(tmp_path):
    state = tmp_path / ".tada"
    assert configured_keys(Settings(state_dir=state)) == []
    path = ensure_local_keys(state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = path.read_text()
    assert ensure_local_keys(state) == path and path.read_text() == written  # made once, kept
    [local] = configured_keys(Settings(state_dir=state))
    assert written.startswith(local.key_id + ":")
    explicit = new_key_line("env")
    assert [k.key_id for k in configured_keys(Settings(state_dir=state, payload_keys=explicit))] == ["env"]
    with pytest.raises(PayloadKeyError, match="TADA_PAYLOAD_KEYS"):
        data_converter(Settings(state_dir=state, payload_keys="k:c2hvcnQ="))


def test_without_keys_the_worker_warns_once(tmp_path, monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr(converter_module, "log", SimpleNamespace(warning=warnings.append))
    monkeypatch.setattr(converter_module, "_warned", False)
    bare = Settings(state_dir=tmp_path / ".tada")
    assert warn_if_unencrypted(bare) and warn_if_unencrypted(bare)
    assert warnings == [UNENCRYPTED_WARNING] == ["payloads are not encrypted: set TADA_PAYLOAD_KEYS"]
    assert not warn_if_unencrypted(Settings(state_dir=tmp_path / ".tada", payload_keys=new_key_line("k")))
    assert data_converter(bare) is pydantic_data_converter


# --- the codec server over HTTP ---------------------------------------------------------------

TOKEN = "codec-test-token"
UI_ORIGIN = "http://127.0.0.1:8233"


@asynccontextmanager
async def codec_server(settings: Settings):
    port = free_port()
    server = build_server(settings, "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            yield http
    finally:
        server.should_exit = True
        await task


def codec_settings(tmp_path, keys: str, token: str | None = TOKEN) -> Settings:
    return Settings(
        state_dir=tmp_path / ".tada",
        payload_keys=keys,
        codec_token=SecretStr(token) if token else None,
        codec_cors_origin=UI_ORIGIN,
    )


def as_json(payloads: list[Payload]) -> dict:
    return {"payloads": [MessageToDict(p) for p in payloads]}


async def test_codec_server_refuses_to_start_without_a_token_or_keys(tmp_path):
    with pytest.raises(CodecServerRefused, match="TADA_CODEC_TOKEN"):
        build_server(codec_settings(tmp_path, new_key_line("k1"), token=None))
    with pytest.raises(CodecServerRefused, match="no payload keys"):
        build_server(codec_settings(tmp_path, ""))


async def test_codec_server_needs_the_token(tmp_path):
    async with codec_server(codec_settings(tmp_path, new_key_line("k1"))) as http:
        body = {"payloads": []}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            response = await http.post("/decode", json=body, headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
        assert (await http.post("/wrong/decode", json=body)).status_code == 401
        ok = await http.post("/decode", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert (ok.status_code, ok.json()) == (200, {"payloads": []})
        assert (await http.post(f"/{TOKEN}/decode", json=body)).status_code == 200  # the Web UI's form
        assert (await http.get(f"/{TOKEN}/decode")).status_code == 405
        assert (await http.post(f"/{TOKEN}/other", json=body)).status_code == 404


async def test_codec_server_answers_the_web_uis_cors_preflight(tmp_path):
    async with codec_server(codec_settings(tmp_path, new_key_line("k1"))) as http:
        preflight = await http.options(
            "/decode",
            headers={
                "Origin": UI_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,authorization,x-namespace",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == UI_ORIGIN
        allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
        assert {"content-type", "authorization", "x-namespace"} <= allowed
        assert "POST" in preflight.headers["access-control-allow-methods"]
        elsewhere = await http.options(
            "/decode", headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"}
        )
        assert elsewhere.status_code == 400
        assert "access-control-allow-origin" not in elsewhere.headers
        refused = await http.post("/decode", json={"payloads": []}, headers={"Origin": UI_ORIGIN})
        assert refused.status_code == 401  # and the browser may read why
        assert refused.headers["access-control-allow-origin"] == UI_ORIGIN


async def test_codec_server_decodes_what_the_codec_encoded(tmp_path):
    keys = new_key_line("k1")
    codec = EncryptionCodec(parse_keys(keys))
    originals = await plain_payloads(EscalationContact(email=SECRET, kind=Escalation.ADMIN), "note", 42)
    encrypted = await codec.encode(originals)
    auth = {"Authorization": f"Bearer {TOKEN}", "X-Namespace": "default", "Origin": UI_ORIGIN}
    async with codec_server(codec_settings(tmp_path, keys)) as http:
        decoded = await http.post("/decode", json=as_json(encrypted), headers=auth)
        assert decoded.status_code == 200
        assert decoded.json() == as_json(originals)
        assert decoded.headers["access-control-allow-origin"] == UI_ORIGIN

        encoded = await http.post(f"/{TOKEN}/encode", json=as_json(originals), headers=auth)
        assert encoded.status_code == 200
        assert SECRET not in encoded.text
        encrypted_marker = base64.b64encode(ENCODING).decode()
        assert all(p["metadata"]["encoding"] == encrypted_marker for p in encoded.json()["payloads"])
        again = await http.post("/decode", json=encoded.json(), headers=auth)
        assert again.json() == as_json(originals)

        unknown = await EncryptionCodec([key("elsewhere")]).encode(originals[:1])
        refused = await http.post("/decode", json=as_json(unknown), headers=auth)
        assert refused.status_code == 400 and "'elsewhere'" in refused.json()["error"]
        garbage = await http.post("/decode", content=b"not json", headers=auth)
        assert garbage.status_code == 400
