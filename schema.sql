-- tada: the whole database. Applied by `make run`, the worker and the tests;
-- every statement is idempotent so applying it again is harmless.

CREATE TABLE IF NOT EXISTS cases (
    case_id     text PRIMARY KEY,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    language    text NOT NULL DEFAULT 'en',
    reference   text,                       -- the service's own reference, never the victim's name
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'withdrawn', 'closed')),
    withdrawn_at timestamptz
);

CREATE TABLE IF NOT EXISTS links (
    link_id      text PRIMARY KEY,          -- = Temporal workflow id: case id + keyed hash of the normalised URL
    case_id      text NOT NULL REFERENCES cases (case_id),
    url          text NOT NULL,             -- normalised; never logged, never sent to Temporal
    host         text NOT NULL,
    platform     text NOT NULL,
    category     text NOT NULL,
    source       text NOT NULL DEFAULT 'import',
    added_at     timestamptz NOT NULL DEFAULT now(),
    -- read model, kept current by the workflow's record_event activity
    state        text NOT NULL DEFAULT 'REPORTED',
    cycle        integer NOT NULL DEFAULT 1,
    next_action  text,
    next_action_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, url)
);
CREATE INDEX IF NOT EXISTS links_case_idx ON links (case_id);

-- Append-only timeline of every link: transitions, responses, caseworker actions.
CREATE TABLE IF NOT EXISTS link_events (
    event_id     bigserial PRIMARY KEY,
    event_key    text NOT NULL UNIQUE,      -- link_id:cycle:seq, so a retried activity never writes twice
    link_id      text NOT NULL REFERENCES links (link_id),
    case_id      text NOT NULL,
    cycle        integer NOT NULL,
    kind         text NOT NULL,
    from_state   text,
    to_state     text,
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at  timestamptz NOT NULL,      -- workflow time
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS link_events_link_idx ON link_events (link_id, event_id);

-- What a link waits for from a person, for the console's "Needs me" (tada/app/needs.py): kept in
-- the links read model by every recorded event (activities/store.py, tada_needs below), so the
-- queue is one index read. needs: filing (a manual report to file), contact (an escalation
-- contact to supply), delivery (a notice that can never go out to its recipient), reply (a
-- platform's reply a person must read), removal_claim (the platform says removed, the page is
-- still there), decision (UNRESOLVED). needs_for: the waiting event's own words ("manual
-- filing", "host contact"...), never a URL or an address; needs_since: when it began.
CREATE OR REPLACE FUNCTION tada_needs(current text, kind text, to_state text, detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN to_state = 'UNRESOLVED' THEN 'decision'
        WHEN to_state IS NOT NULL THEN NULL
        WHEN kind = 'waiting' THEN CASE
            WHEN detail->>'for' = 'manual filing' THEN 'filing'
            WHEN detail->>'for' LIKE 'caseworker:%' THEN 'removal_claim'
            ELSE 'contact' END
        WHEN kind = 'reply' THEN CASE
            WHEN detail ? 'review' THEN 'reply'
            WHEN current = 'reply' THEN NULL
            ELSE current END
        WHEN kind = 'delivery_failed' THEN 'delivery'
        WHEN kind = 'response' THEN CASE WHEN current IN ('reply', 'removal_claim') THEN NULL ELSE current END
        WHEN kind = 'notice' THEN CASE WHEN current IN ('filing', 'contact', 'delivery') THEN NULL ELSE current END
        WHEN kind = 'caseworker' THEN CASE
            WHEN detail ? 'ignored' THEN current
            WHEN detail->>'action' = 'filed' AND current = 'filing' THEN NULL
            WHEN detail->>'action' = 'escalate' AND current IN ('contact', 'delivery', 'decision') THEN NULL
            WHEN detail->>'action' = 'reply' AND current = 'reply' THEN NULL
            WHEN detail->>'action' = 'recheck' AND current = 'removal_claim' THEN NULL
            ELSE current END
        ELSE current
    END
$$;
CREATE OR REPLACE FUNCTION tada_needs_for(kind text, detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind
        WHEN 'waiting' THEN left(detail->>'for', 200)
        WHEN 'reply' THEN detail->>'kind'
        WHEN 'delivery_failed' THEN left(coalesce(detail->>'kind', '') || ' ' || coalesce(detail->>'code', ''), 100)
        ELSE NULL
    END
$$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = 'links' AND column_name = 'needs') THEN
        ALTER TABLE links ADD COLUMN needs text, ADD COLUMN needs_for text, ADD COLUMN needs_since timestamptz;
        -- links recorded before: what their latest event says they wait for
        UPDATE links l SET needs = tada_needs(NULL, e.kind, e.to_state, e.detail),
                           needs_for = tada_needs_for(e.kind, e.detail), needs_since = e.occurred_at
          FROM (SELECT DISTINCT ON (link_id) link_id, kind, to_state, detail, occurred_at
                  FROM link_events ORDER BY link_id, event_id DESC) e
         WHERE e.link_id = l.link_id AND tada_needs(NULL, e.kind, e.to_state, e.detail) IS NOT NULL;
        UPDATE links SET needs = 'decision', needs_since = updated_at WHERE state = 'UNRESOLVED' AND needs IS NULL;
    END IF;
END
$$;
CREATE INDEX IF NOT EXISTS links_needs_idx ON links (needs_since, link_id) WHERE needs IS NOT NULL;

-- Every notice, recorded under its unique key before it is sent.
CREATE TABLE IF NOT EXISTS notices (
    notice_key   text PRIMARY KEY,          -- link_id:cycle:step
    link_id      text NOT NULL REFERENCES links (link_id),
    case_id      text NOT NULL,
    cycle        integer NOT NULL,
    kind         text NOT NULL,
    channel      text NOT NULL,
    recipient    text,
    message_id   text,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    attempts     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
CREATE INDEX IF NOT EXISTS notices_link_idx ON notices (link_id);

-- PDQ perceptual hashes of a case's images (never the images): a monitor's find matches by them.
CREATE TABLE IF NOT EXISTS case_hashes (
    case_id      text NOT NULL REFERENCES cases (case_id),
    pdq          text NOT NULL CHECK (pdq ~ '^[0-9a-f]{64}$'),
    added_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, pdq)
);

-- Append-only: every repost a monitor (or `tada repost`) reported, new link or not.
CREATE TABLE IF NOT EXISTS reposts (
    id           bigserial PRIMARY KEY,
    case_id      text NOT NULL REFERENCES cases (case_id),
    link_id      text NOT NULL REFERENCES links (link_id),
    source       text NOT NULL,             -- the monitor's name
    of_link      text REFERENCES links (link_id),
    pdq_distance integer,                   -- Hamming distance to the nearest case hash, if a hash came
    new          boolean NOT NULL,          -- a link tada did not know before
    reported_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS reposts_link_idx ON reposts (link_id);

CREATE OR REPLACE FUNCTION tada_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'reposts_append_only') THEN
        CREATE TRIGGER reposts_append_only
            BEFORE UPDATE OR DELETE ON reposts
            FOR EACH ROW EXECUTE FUNCTION tada_append_only();
    END IF;
END;
$$;

-- Added after the first release: kept as ALTERs so existing databases catch up.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS jurisdiction text;   -- e.g. HK: notices cite local law
ALTER TABLE cases ADD COLUMN IF NOT EXISTS purged_at timestamptz; -- `tada case purge`: personal data gone
-- The key link ids and notice-batch ids are HMACs under (tada/app/link_ids.py); a purge deletes it.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS id_key bytea;
-- Legal facts of a case (`tada case open --authorised-on DATE --victim-made-image`): that the victim
-- authorised the organisation to act for them, and on which day (never who they are); that the
-- victim made the image themselves (a copyright notice may then be sent where the registry allows).
ALTER TABLE cases ADD COLUMN IF NOT EXISTS authorised_on date;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS victim_made_image boolean NOT NULL DEFAULT false;
-- The link's legal clock as its last `deadline` event left it (activities/store.py): the law, the
-- step (started, paused, resumed, met, missed) and when it falls due; a new cycle clears it.
ALTER TABLE links ADD COLUMN IF NOT EXISTS deadline_law text;
ALTER TABLE links ADD COLUMN IF NOT EXISTS deadline_step text;
ALTER TABLE links ADD COLUMN IF NOT EXISTS deadline_due_at timestamptz;

-- Victim data at rest (tada/adapters/data_crypto.py): each case's own key, wrapped by the master
-- data key (TADA_DATA_KEY). cases.reference and timeline notes are sealed with it; deleting
-- the row (`tada case purge`) makes them unreadable for good.
CREATE TABLE IF NOT EXISTS case_keys (
    case_id      text PRIMARY KEY REFERENCES cases (case_id),
    key_id       text NOT NULL,             -- which master key wrapped it
    wrapped      bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Append-only: every access decision the CLI (and API) made under tokens, and every purge.
CREATE TABLE IF NOT EXISTS audit_events (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_role   text,                      -- ops | caseworker | monitor | local; NULL: unknown token
    action       text NOT NULL,             -- e.g. case.purge, link.respond (tada/domain/access.py)
    target       text,                      -- a case or link id, never a URL
    allowed      boolean NOT NULL,
    reason       text NOT NULL DEFAULT ''
);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'audit_events_append_only') THEN
        CREATE TRIGGER audit_events_append_only
            BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION tada_append_only();
    END IF;
END;
$$;

-- The timeline is append-only: refuse updates and deletes. One exception: `tada case purge`
-- (tada/app/purge.py) may rewrite the detail of its own case's events, and nothing else, to
-- take out the addresses they name; it says which case with SET LOCAL tada.purging_case.
CREATE OR REPLACE FUNCTION tada_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.case_id = current_setting('tada.purging_case', true)
       AND (NEW.event_id, NEW.event_key, NEW.link_id, NEW.case_id, NEW.cycle, NEW.kind, NEW.from_state,
            NEW.to_state, NEW.occurred_at, NEW.recorded_at)
           IS NOT DISTINCT FROM (OLD.event_id, OLD.event_key, OLD.link_id, OLD.case_id, OLD.cycle, OLD.kind,
            OLD.from_state, OLD.to_state, OLD.occurred_at, OLD.recorded_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'link_events is append-only';
END;
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'link_events_append_only') THEN
        CREATE TRIGGER link_events_append_only
            BEFORE UPDATE OR DELETE ON link_events
            FOR EACH ROW EXECUTE FUNCTION tada_refuse_change();
    END IF;
END;
$$;

-- Monitors a case opted into, by name (tada/app/monitors.py): a monitor token
-- (token:monitor:NAME) may report reposts only on the open cases listed here under its NAME.
CREATE TABLE IF NOT EXISTS case_monitors (
    case_id      text NOT NULL REFERENCES cases (case_id),
    monitor      text NOT NULL CHECK (monitor ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, monitor)
);
-- Which monitor (its name, never its token) an audited decision was about.
ALTER TABLE audit_events ADD COLUMN IF NOT EXISTS actor_name text;

-- Replies: where a notice's answers come back to (issue 15)
-- One row per notice email (tada/app/reply_messages.py), recorded before it is sent: its reply
-- token (tada/domain/reply_tags.py: Crockford base32, 10 symbols of id and 5 of HMAC check,
-- canonical upper case) that its Reply-To plus-tag and its subject's [TD-...] carry, and its
-- Message-ID; sent_at once the relay took it. Ids only: no address, no URL.
CREATE TABLE IF NOT EXISTS notice_messages (
    reply_token  text PRIMARY KEY CHECK (reply_token ~ '^[0-9A-HJKMNP-TV-Z]{15}$'),
    message_id   text NOT NULL UNIQUE,
    case_id      text NOT NULL REFERENCES cases (case_id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
-- The notices (so the links) an email listed, each at its number in the email's list (1 first).
CREATE TABLE IF NOT EXISTS notice_message_links (
    reply_token  text NOT NULL REFERENCES notice_messages (reply_token),
    notice_key   text NOT NULL REFERENCES notices (notice_key),
    link_id      text NOT NULL REFERENCES links (link_id),
    position     integer NOT NULL CHECK (position >= 1),
    PRIMARY KEY (reply_token, notice_key),
    UNIQUE (reply_token, position)
);
CREATE INDEX IF NOT EXISTS notice_message_links_link_idx ON notice_message_links (link_id);

-- The inbox: every message read once (issue 15)
-- One row per message of the mailbox (tada/app/inbox.py), inserted before it is read, so a
-- reader that dies mid-batch leaves a row to retry, never a message lost or read twice.
-- Metadata only: no address, subject or body is kept here.
CREATE TABLE IF NOT EXISTS inbox_messages (
    id            bigserial PRIMARY KEY,
    mailbox       text NOT NULL,              -- host:port/mailbox#account (tada/app/inbox_store.py)
    uidvalidity   bigint NOT NULL,
    uid           bigint NOT NULL,
    size          bigint NOT NULL,            -- RFC822.SIZE, as the server reported it
    status        text NOT NULL DEFAULT 'processing',  -- processing | error | failed | too_large | duplicate | unmatched | matched | ...
    problem       text,                       -- why not processed, in tada's words
    notes         text,                       -- what was wrong with its MIME, in tada's words
    message_id    text,
    dedupe_key    text,                       -- its Message-ID, else sha256: of its bytes
    duplicate_of  bigint REFERENCES inbox_messages (id),
    attempts      integer NOT NULL DEFAULT 1,
    claim         uuid,                       -- the attempt that may finish it
    flagged       boolean NOT NULL DEFAULT false,  -- marked read by tada on the server
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    UNIQUE (mailbox, uidvalidity, uid)
);
-- One message (by Message-ID) is processed once, whichever mailbox or UIDVALIDITY it came in.
CREATE UNIQUE INDEX IF NOT EXISTS inbox_messages_dedupe
    ON inbox_messages (dedupe_key) WHERE status <> 'duplicate' AND dedupe_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS inbox_messages_unfinished
    ON inbox_messages (mailbox, uidvalidity) WHERE status IN ('processing', 'error') OR NOT flagged;

-- Each mailbox's polls, for `tada inbox status`.
CREATE TABLE IF NOT EXISTS inbox_polls (
    mailbox       text PRIMARY KEY,
    polls         bigint NOT NULL DEFAULT 0,
    failures      bigint NOT NULL DEFAULT 0,
    last_poll_at  timestamptz,
    last_ok_at    timestamptz,
    last_new      integer NOT NULL DEFAULT 0,
    last_error    text                         -- in tada's words (step and reason), NULL after a good poll
);

-- Replies heard: what each platform reply said, for every link of the email it answers
-- (tada/app/reply_routing.py). The excerpt (the platform's own words, at most 300 characters,
-- no quoted notice, no HTML, addresses and links taken out) is sealed with the case's key;
-- attachments by type and size only. A purge deletes the case's rows.
CREATE TABLE IF NOT EXISTS link_replies (
    reply_id     bigint NOT NULL REFERENCES inbox_messages (id),
    link_id      text NOT NULL REFERENCES links (link_id),
    case_id      text NOT NULL,
    kind         text NOT NULL,             -- tada/domain/replies.py ReplyKind
    confidence   text NOT NULL CHECK (confidence IN ('high', 'low')),
    rule         text NOT NULL,             -- the classifier's rule that decided
    matched_by   text NOT NULL,             -- tag | in-reply-to | references | subject
    from_domain  text,
    attachments  jsonb NOT NULL DEFAULT '[]'::jsonb,
    excerpt      text,                      -- sealed
    received_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reply_id, link_id)
);
CREATE INDEX IF NOT EXISTS link_replies_link_idx ON link_replies (link_id, received_at);

-- The holding pen and corrections (issue 15). A reply no header matched keeps tada's best
-- guesses for a caseworker (tada/app/inbox_pen.py): the case ids, link ids and notice tags its
-- text names that exist, and the platform whose registry domains include the sender's domain:
-- ids and a platform's name only, never an address, a subject or a body. A pen entry with one
-- strong guess is given to its link at once (assigned_by 'auto'); a caseworker gives the rest
-- (tada inbox assign: 'caseworker'). A caseworker's corrections of a classification (tada inbox
-- classify) are kept one row per link; the link hears the correction as reply -id.
CREATE TABLE IF NOT EXISTS inbox_pen (
    reply_id     bigint PRIMARY KEY REFERENCES inbox_messages (id),
    from_domain  text,                         -- the sender's domain (as link_replies keeps it)
    guesses      jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{"kind": link|case|message|platform, "id", "case_id"}]
    penned_at    timestamptz NOT NULL DEFAULT now(),
    assigned_to  text[],                       -- the link ids it was given to
    assigned_by  text CHECK (assigned_by IN ('auto', 'caseworker')),
    assigned_at  timestamptz
);
CREATE TABLE IF NOT EXISTS reply_corrections (
    id           bigserial PRIMARY KEY,        -- the link hears the correction as reply_id -id
    reply_id     bigint NOT NULL REFERENCES inbox_messages (id),
    link_id      text NOT NULL REFERENCES links (link_id),
    case_id      text NOT NULL,
    from_kind    text NOT NULL,                -- tada/domain/replies.py ReplyKind
    to_kind      text NOT NULL,
    by_role      text,                         -- ops | caseworker | local
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS reply_corrections_reply_idx ON reply_corrections (reply_id, link_id, id);

-- The caseworkers' web console (issue 16): people's accounts and their sessions
-- (tada/app/accounts.py, tada/app/console_sessions.py). A name is unique whatever its case
-- (kept as typed, compared lower()). The password is an argon2id hash; the TOTP secret is
-- sealed (AES-GCM, a sub-key of the data key: "console-totp"), never in clear, and the last
-- 30 s step a code was accepted for is kept so that no code is used twice. A session is kept
-- by the SHA-256 of its token, never the token itself. console_login_failures counts failed
-- logins per address for the per-address limit; rows older than its window are deleted as
-- logins go.
CREATE TABLE IF NOT EXISTS console_users (
    id                   bigserial PRIMARY KEY,
    name                 text NOT NULL,
    role                 text NOT NULL CHECK (role IN ('ops', 'caseworker')),
    password_hash        text NOT NULL,                 -- argon2id
    totp_secret          text,                          -- sealed; NULL: no second factor
    totp_confirmed       boolean NOT NULL DEFAULT false,
    totp_last_step       bigint,                        -- the last 30 s step a code was accepted for
    language             text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'zh-Hant')),
    disabled_at          timestamptz,
    failed_logins        integer NOT NULL DEFAULT 0,    -- consecutive
    locked_until         timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    password_changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS console_users_name_idx ON console_users (lower(name));
CREATE TABLE IF NOT EXISTS console_login_failures (
    address  text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS console_login_failures_idx ON console_login_failures (address, at);
CREATE INDEX IF NOT EXISTS console_login_failures_at_idx ON console_login_failures (at);
ALTER TABLE console_login_failures ADD COLUMN IF NOT EXISTS id bigserial;
-- A lock-out holds one account from one address (tada/app/accounts.py): a stranger's wrong
-- passwords elsewhere never keep its person out. (console_users.failed_logins and locked_until
-- are no longer used.)
CREATE TABLE IF NOT EXISTS console_account_locks (
    user_id       bigint NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    address       text NOT NULL,
    failures      integer NOT NULL DEFAULT 0,             -- in a row, from this address
    locked_until  timestamptz,
    PRIMARY KEY (user_id, address)
);
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash    text PRIMARY KEY,                     -- sha256 hex of the session token
    user_id       bigint NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    csrf          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    address       text
);
CREATE INDEX IF NOT EXISTS console_sessions_user_idx ON console_sessions (user_id);
