-- salts: the daily visitor-hash salts shared by several collectors. The
-- Memory engine keeps them in RAM only: they never reach a disk, and a
-- restart of the server forgets them (a new salt is minted for the day).
-- Collectors that mint a salt at the same moment agree on the earliest
-- minted_at (argMin(salt, minted_at)); the keeper deletes yesterday's row
-- after the overlap. Never log or export this table.
CREATE TABLE IF NOT EXISTS salts
(
    day Date,
    salt String,
    minted_at DateTime('UTC')
)
ENGINE = Memory;
