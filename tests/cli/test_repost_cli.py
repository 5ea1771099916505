"""``tada repost``, ``tada case add-hash`` and ``tada hash`` as real subprocesses, with a real
worker on the Temporal dev server, real PostgreSQL, SMTP and web server."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image, ImageDraw

from tada.domain.pdq import hamming
from tests.support.cli_stack import Stack, cli_env, registry_toml, stack_settings, worker_running, write_registry
from tests.support.link_ids import link_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

REGISTRY = registry_toml(
    {"follow_up_after": "1h", "recheck_schedule": ["1h"], "batch_window": "0s", "confirm_gone_after": "0s"},
    escalation=None,
)
PDQ = "5a" * 32


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("repost-cli")
    registry = write_registry(home, REGISTRY)
    settings = stack_settings(dev_env, postgres_url, smtp_server[1], registry, "repost-cli", state_dir=home / ".tada")
    env = cli_env(
        settings,
        TADA_STATE_DIR=str(settings.state_dir),  # not a developer's .tada keys: this worker has no codec
        TADA_PDQ_MAX_DISTANCE="10",
        COLUMNS="200",
    )
    async with worker_running(dev_env.client, db_pool, settings):
        yield Stack(env=env, cwd=home, client=dev_env.client, pool=db_pool)


def picture(path: Path, seed: int) -> Path:
    rng = random.Random(seed)
    image = Image.new("RGB", (320, 240), (200, 200, 200))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y = rng.randrange(320), rng.randrange(240)
        draw.ellipse([x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 90)], fill=(rng.randrange(256), 40, 90))
    image.save(path)
    return path


async def test_repost_new_then_known_and_its_errors(stack, web):
    case_id = await stack.open_case()
    web.live("/cli/a")
    url = web.url("/cli/a")
    link_id = await link_of(stack.pool, case_id, url)

    first = await stack.tada("repost", case_id, url, "--source", "hashwatch", "--json")
    assert first.code == 0, first.stderr
    assert first.json == {"link_id": link_id, "new": True, "distance": None}
    again = await stack.tada("repost", case_id, url + "#again", "--source", "hashwatch")
    assert again.code == 0, again.stderr
    assert link_id in again.stdout and "already known" in again.stdout
    assert await stack.pool.fetchval("SELECT source FROM links WHERE link_id = $1", link_id) == "hashwatch"
    assert await stack.pool.fetchval("SELECT count(*) FROM reposts WHERE link_id = $1", link_id) == 2

    bad_url, bad_source, unknown_of, unknown_case, bad_pdq = await asyncio.gather(
        stack.tada("repost", case_id, "ftp://example.com/x", "--source", "m"),
        stack.tada("repost", case_id, url, "--source", "no spaces please"),
        stack.tada("repost", case_id, url, "--source", "m", "--of", f"{case_id}-ffffffffffffffff", "--json"),
        stack.tada("repost", "TD-NOSUCHCS", url, "--source", "m"),
        stack.tada("repost", case_id, url, "--source", "m", "--pdq", "12345"),
    )
    assert (bad_url.code, bad_source.code, unknown_of.code, unknown_case.code, bad_pdq.code) == (
        2,
        2,
        2,
        4,
        2,
    )
    assert "URL: only http and https" in bad_url.stderr
    assert "--source" in bad_source.stderr
    assert unknown_of.stdout == "" and "--of: no link" in unknown_of.stderr
    assert "no case TD-NOSUCHCS" in unknown_case.stderr
    assert "--pdq" in bad_pdq.stderr and "64 hexadecimal digits" in bad_pdq.stderr
    missing_source = await stack.tada("repost", case_id, url)
    assert missing_source.code == 2 and "--source" in missing_source.stderr
    await stack.withdraw(link_id)


async def test_add_hash_then_pdq_reports_match_or_are_refused(stack, web):
    case_id = await stack.open_case()
    web.live("/cli/pdq")
    url = web.url("/cli/pdq")

    no_hashes = await stack.tada("repost", case_id, url, "--source", "m", "--pdq", PDQ)
    assert no_hashes.code == 3 and "no hashes to match against" in no_hashes.stderr

    added = await stack.tada("case", "add-hash", case_id, PDQ.upper(), "--json")
    assert added.code == 0, added.stderr
    assert added.json == {"case_id": case_id, "pdq": PDQ, "added": True}
    twice = await stack.tada("case", "add-hash", case_id, PDQ)
    assert twice.code == 0 and "Already there" in twice.stdout
    bad, unknown = await asyncio.gather(
        stack.tada("case", "add-hash", case_id, "xyz"),
        stack.tada("case", "add-hash", "TD-NOSUCHCS", PDQ),
    )
    assert bad.code == 2 and "HEX" in bad.stderr
    assert unknown.code == 4

    far = f"{int(PDQ, 16) ^ 0xFFF:064x}"  # 12 bits off; TADA_PDQ_MAX_DISTANCE is 10 here
    refused = await stack.tada("repost", case_id, url, "--source", "m", "--pdq", far)
    assert refused.code == 3 and "12 bits" in refused.stderr and "at most 10" in refused.stderr
    assert await stack.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 0

    near = f"{int(PDQ, 16) ^ 0b111:064x}"
    taken = await stack.tada("repost", case_id, url, "--source", "m", "--pdq", near, "--json")
    assert taken.code == 0, taken.stderr
    assert taken.json["new"] is True and taken.json["distance"] == 3
    await stack.withdraw(taken.json["link_id"])


async def test_hash_prints_only_hashes_and_quality(stack, tmp_path):
    first = picture(tmp_path / "IMG_0001 victim name.png", seed=1)
    copy = tmp_path / "copy.jpg"
    Image.open(first).resize((160, 120)).save(copy, "JPEG", quality=70)
    other = picture(tmp_path / "other.png", seed=2)
    before = sorted(p.name for p in tmp_path.iterdir())

    run = await stack.tada("hash", str(first), str(copy), str(other))
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 3
    hashes = []
    for line in lines:
        pdq, quality = line.split("  ")
        assert len(pdq) == 64 and int(quality) >= 0
        hashes.append(pdq)
    assert "victim" not in run.stdout and "IMG" not in run.stdout
    assert hamming(hashes[0], hashes[1]) <= 31 < hamming(hashes[0], hashes[2])
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written

    as_json = await stack.tada("hash", str(first), "--json")
    assert as_json.json == [{"file": 1, "pdq": hashes[0], "quality": int(lines[0].split("  ")[1])}]

    (tmp_path / "notes.txt").write_text("words")
    mixed = await stack.tada("hash", str(tmp_path / "notes.txt"), str(first))
    assert mixed.code == 2
    assert mixed.stdout.splitlines() == [lines[0]]
    assert "FILE 1" in mixed.stderr and "not an image" in mixed.stderr
