-- Population runs read a patient's history, most of it outside the measurement period.
-- Beside each current row: the span of its type's principal date element (store::date_span),
-- from the date search parameter that indexes that element, and the same covering index
-- holding it, so rows outside a read's window are skipped without reading their bodies.
ALTER TABLE resource ADD COLUMN span_low BIGINT;
ALTER TABLE resource ADD COLUMN span_high BIGINT;

-- The fill looks the date index up by resource: a load killed before it built its deferred
-- indexes left idx_date without that index, so it is built here and no longer deferred.
CREATE INDEX IF NOT EXISTS idx_date_res ON idx_date (res_type, res_id);
DELETE FROM deferred_index WHERE name = 'idx_date_res';

WITH principal (res_type, code) AS (VALUES
    ('Encounter', 'date'), ('Observation', 'date'), ('DiagnosticReport', 'date'),
    ('Procedure', 'date'), ('Immunization', 'date'), ('MedicationRequest', 'authoredon'),
    ('ServiceRequest', 'authored'), ('DeviceRequest', 'authored-on'),
    ('MedicationAdministration', 'effective-time'), ('MedicationDispense', 'whenhandedover'),
    ('Task', 'period'))
UPDATE resource SET (span_low, span_high) = (
    SELECT min(d.low), max(d.high) FROM idx_date d JOIN principal p
        ON p.res_type = d.res_type AND p.code = d.code
    WHERE d.res_type = resource.res_type AND d.res_id = resource.res_id)
WHERE NOT deleted AND res_type IN (SELECT res_type FROM principal);

-- A load may have deferred the index; it is built anew with the new definition either way.
DROP INDEX IF EXISTS resource_patient;
DELETE FROM deferred_index WHERE name = 'resource_patient';
CREATE INDEX resource_patient ON resource (patient, res_type)
    INCLUDE (deleted, seq, codes, span_low, span_high) WHERE patient IS NOT NULL;
