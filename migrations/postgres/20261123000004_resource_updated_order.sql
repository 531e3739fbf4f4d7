-- Changes since a moment, in the order they happened: `_lastUpdated` ranges sorted by
-- `_lastUpdated` (with the id as tie-break, as every page is) read the index in order and stop
-- after one page instead of sorting every match.
DROP INDEX resource_type_updated;
CREATE INDEX resource_type_updated ON resource (res_type, last_updated, res_id);
