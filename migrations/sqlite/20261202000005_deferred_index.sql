-- Indexes a bulk load into an empty store dropped, to be built once it ends (sorting every key
-- once instead of inserting each at a random place). Written in the transaction that drops
-- them, so a load that is killed leaves this list behind and the next open builds them.
CREATE TABLE deferred_index (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL
);
