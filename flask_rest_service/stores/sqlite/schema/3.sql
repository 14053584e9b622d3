-- Schema version 3: when each sensor last reported, by the server's clock
-- (quiet alerts go by it; a reading's own timestamp may be years off).
-- NULL for a sensor that reported before this version: its newest
-- reading's time stands in.
ALTER TABLE sensors ADD COLUMN reported INTEGER;
