-- When the engine expects each pile's charging session to complete (station time, ms), mirrored from
-- `piles.engine_state` by PostgreSQL itself, so a step finds the sessions falling due through an
-- index instead of reading every charging car's pile state: at a station of a thousand piles every
-- charger's StartTransaction or StopTransaction would otherwise read a thousand JSON documents.
ALTER TABLE piles ADD COLUMN engine_completes_ms bigint
    GENERATED ALWAYS AS ((engine_state #>> '{session,completes_at_ms}')::bigint) STORED;

CREATE INDEX piles_engine_completion ON piles (station_id, engine_completes_ms) WHERE engine_completes_ms IS NOT NULL;
