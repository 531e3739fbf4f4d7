-- Only absolute references, URNs and canonicals are searched by URL; a relative `Type/id`
-- reference is matched on its target type and id. New rows leave `url` empty for those, and the
-- URL index holds only the rows that have one (about 7% of a database's bytes). Rows written
-- before keep their URL until `hearth reindex`. IF EXISTS: a bulk load may have deferred it.
DROP INDEX IF EXISTS idx_reference_url;
CREATE INDEX IF NOT EXISTS idx_reference_url ON idx_reference (res_type, code, url)
    WHERE url IS NOT NULL;
