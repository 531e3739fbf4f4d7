-- Population runs read a page of patients' resources of a few types and keep only those with
-- wanted codes. Beside each current row: the codes of its type's code element (NULL where
-- only the body can tell), and an index holding them with what the read needs, so the rows to
-- keep are chosen from the index alone and only their bodies are read.
ALTER TABLE resource ADD COLUMN codes TEXT;

-- A load may have deferred the index; it is built anew with the new definition either way.
DROP INDEX IF EXISTS resource_patient;
DELETE FROM deferred_index WHERE name = 'resource_patient';
CREATE INDEX resource_patient ON resource (patient, res_type, deleted, seq, codes) WHERE patient IS NOT NULL;
