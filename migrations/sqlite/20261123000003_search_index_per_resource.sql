-- Per-resource lookups carry the parameter code and the compared columns, so the planner
-- probes one resource's rows (a patient's few Observations) instead of scanning every row with
-- a common code when a search has several parameters. Also serves replacing a resource's rows.

DROP INDEX idx_token_res;
CREATE INDEX idx_token_res ON idx_token (res_type, res_id, code, value, system);
DROP INDEX idx_string_res;
CREATE INDEX idx_string_res ON idx_string (res_type, res_id, code);
DROP INDEX idx_date_res;
CREATE INDEX idx_date_res ON idx_date (res_type, res_id, code, low, high);
DROP INDEX idx_reference_res;
CREATE INDEX idx_reference_res ON idx_reference (res_type, res_id, code);
DROP INDEX idx_quantity_res;
CREATE INDEX idx_quantity_res ON idx_quantity (res_type, res_id, code);
DROP INDEX idx_number_res;
CREATE INDEX idx_number_res ON idx_number (res_type, res_id, code);
DROP INDEX idx_uri_res;
CREATE INDEX idx_uri_res ON idx_uri (res_type, res_id, code);
DROP INDEX idx_composite_res;
CREATE INDEX idx_composite_res ON idx_composite (res_type, res_id, code);

-- Value lookups cover the resource id, so a driving parameter never reads table rows.
DROP INDEX idx_token_value;
CREATE INDEX idx_token_value ON idx_token (res_type, code, value, system, res_id);
DROP INDEX idx_reference_target;
CREATE INDEX idx_reference_target ON idx_reference (res_type, code, target_id, target_type, res_id);
