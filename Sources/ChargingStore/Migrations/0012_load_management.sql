-- Site load management (issue 17). The station's power limit, each pile's minimum and what each charger
-- acknowledged are engine state (stations.state, piles.engine_state); only the new way a session ends needs
-- the schema: a car the limit no longer leaves its minimum is paused, billed for what it received.
ALTER TABLE bills DROP CONSTRAINT bills_ended_by_check;
ALTER TABLE bills ADD CONSTRAINT bills_ended_by_check
    CHECK (ended_by IN ('completed', 'cancelled', 'fault', 'off', 'paused'));
