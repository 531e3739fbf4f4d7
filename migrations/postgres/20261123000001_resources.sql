-- Every version of every resource lives in resource_version; resource points at the current one.
-- Bodies are stored once, so history costs no extra copy of the current version.

CREATE TABLE resource_version (
    seq          BIGSERIAL PRIMARY KEY,
    res_type     TEXT    NOT NULL,
    res_id       TEXT    NOT NULL,
    version      BIGINT  NOT NULL,
    last_updated BIGINT  NOT NULL, -- microseconds since the Unix epoch, UTC
    method       TEXT    NOT NULL, -- POST, PUT or DELETE: how this version came to be
    patient      TEXT,             -- the Patient compartment this version belongs to
    body         JSONB,            -- NULL for a deletion
    UNIQUE (res_type, res_id, version)
);

CREATE INDEX resource_version_type_seq ON resource_version (res_type, seq);
-- Instance history, newest first, without walking every version of the type.
CREATE INDEX resource_version_instance_seq ON resource_version (res_type, res_id, seq);
CREATE INDEX resource_version_updated ON resource_version (last_updated);

CREATE TABLE resource (
    res_type     TEXT    NOT NULL,
    res_id       TEXT    NOT NULL,
    version      BIGINT  NOT NULL,
    seq          BIGINT  NOT NULL REFERENCES resource_version (seq),
    last_updated BIGINT  NOT NULL,
    deleted      BOOLEAN NOT NULL,
    patient      TEXT,
    PRIMARY KEY (res_type, res_id)
);

CREATE INDEX resource_patient ON resource (patient, res_type) WHERE patient IS NOT NULL;
CREATE INDEX resource_type_updated ON resource (res_type, last_updated);
