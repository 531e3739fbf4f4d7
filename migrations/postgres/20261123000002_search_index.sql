-- Typed search-index rows of the CURRENT version of each resource, written in the same
-- transaction as the version, replaced on update and removed on delete. Search never reads JSON.
-- Every table is looked up by (res_type, code, value…) for matching and by (res_type, res_id)
-- to replace a resource's rows.

CREATE TABLE idx_token (
    res_type TEXT NOT NULL,
    res_id   TEXT NOT NULL,
    code     TEXT NOT NULL, -- search parameter code
    system   TEXT,
    value    TEXT,
    text     TEXT COLLATE "C"           -- normalized display text, for :text
);
CREATE INDEX idx_token_value ON idx_token (res_type, code, value, system);
CREATE INDEX idx_token_res ON idx_token (res_type, res_id);

CREATE TABLE idx_string (
    res_type TEXT NOT NULL,
    res_id   TEXT NOT NULL,
    code     TEXT NOT NULL,
    norm     TEXT COLLATE "C" NOT NULL, -- lower case, accents removed: default starts-with and :contains
    exact    TEXT NOT NULL  -- as written: :exact
);
CREATE INDEX idx_string_norm ON idx_string (res_type, code, norm);
CREATE INDEX idx_string_res ON idx_string (res_type, res_id);

CREATE TABLE idx_date (
    res_type TEXT    NOT NULL,
    res_id   TEXT    NOT NULL,
    code     TEXT    NOT NULL,
    low      BIGINT  NOT NULL, -- inclusive range, UTC epoch milliseconds
    high     BIGINT  NOT NULL
);
CREATE INDEX idx_date_low ON idx_date (res_type, code, low);
CREATE INDEX idx_date_res ON idx_date (res_type, res_id);

CREATE TABLE idx_reference (
    res_type     TEXT NOT NULL,
    res_id       TEXT NOT NULL,
    code         TEXT NOT NULL,
    target_type  TEXT,
    target_id    TEXT,
    url          TEXT, -- the reference as written (absolute URLs, canonicals)
    ident_system TEXT, -- Reference.identifier, for :identifier
    ident_value  TEXT
);
CREATE INDEX idx_reference_target ON idx_reference (res_type, code, target_id, target_type);
CREATE INDEX idx_reference_url ON idx_reference (res_type, code, url);
CREATE INDEX idx_reference_res ON idx_reference (res_type, res_id);
CREATE INDEX idx_reference_reverse ON idx_reference (target_id, target_type, code, res_type);

CREATE TABLE idx_quantity (
    res_type    TEXT NOT NULL,
    res_id      TEXT NOT NULL,
    code        TEXT NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    system      TEXT,
    unit        TEXT, -- the unit code
    canon_value DOUBLE PRECISION, -- UCUM canonical form, when the unit converts
    canon_unit  TEXT
);
CREATE INDEX idx_quantity_value ON idx_quantity (res_type, code, value);
CREATE INDEX idx_quantity_canon ON idx_quantity (res_type, code, canon_unit, canon_value);
CREATE INDEX idx_quantity_res ON idx_quantity (res_type, res_id);

CREATE TABLE idx_number (
    res_type TEXT NOT NULL,
    res_id   TEXT NOT NULL,
    code     TEXT NOT NULL,
    value    DOUBLE PRECISION NOT NULL
);
CREATE INDEX idx_number_value ON idx_number (res_type, code, value);
CREATE INDEX idx_number_res ON idx_number (res_type, res_id);

CREATE TABLE idx_uri (
    res_type TEXT NOT NULL,
    res_id   TEXT NOT NULL,
    code     TEXT NOT NULL,
    uri      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX idx_uri_value ON idx_uri (res_type, code, uri);
CREATE INDEX idx_uri_res ON idx_uri (res_type, res_id);

-- One row per component tuple; the first component is a token, the second any of the typed
-- columns (token system/value, string, date range, number or canonical quantity).
CREATE TABLE idx_composite (
    res_type  TEXT NOT NULL,
    res_id    TEXT NOT NULL,
    code      TEXT NOT NULL,
    c1_system TEXT,
    c1_value  TEXT,
    c2_system TEXT,
    c2_value  TEXT,
    c2_low    BIGINT ,
    c2_high   BIGINT ,
    c2_number DOUBLE PRECISION,
    c2_unit   TEXT
);
CREATE INDEX idx_composite_value ON idx_composite (res_type, code, c1_value, c2_value);
CREATE INDEX idx_composite_res ON idx_composite (res_type, res_id);
