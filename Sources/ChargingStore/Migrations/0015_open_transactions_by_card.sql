-- A card's open transactions: Authorize and StartTransaction ask whether the card's driver has a
-- session running at another pile (OCPPStore.card, one card at a time). Without this index the
-- question walked every open transaction of the site: 1.4 ms a message at a thousand chargers,
-- the costliest statement after the station lock's wait.
CREATE INDEX ocpp_transactions_open_by_tag ON ocpp_transactions (id_tag) WHERE stopped_at IS NULL;
