-- The SMS conversion guard (OtpChallengeStore.issue and verify): codes sent and codes verified per
-- number prefix (e.g. +447700), in buckets of a sliding window, and the prefixes paused because
-- too few of their codes were verified (SMS pumping sends codes nobody types).

CREATE TABLE otp_conversions (
  prefix       TEXT NOT NULL,
  bucket_start INTEGER NOT NULL,
  -- When the bucket has left every window it could count in: purged from then on.
  expires_at   INTEGER NOT NULL,
  sent         INTEGER NOT NULL,
  verified     INTEGER NOT NULL,
  PRIMARY KEY (prefix, bucket_start)
) STRICT;
CREATE INDEX otp_conversions_expires_at ON otp_conversions (expires_at);

CREATE TABLE otp_prefix_pauses (
  prefix       TEXT PRIMARY KEY,
  paused_at    INTEGER NOT NULL,
  paused_until INTEGER NOT NULL
) STRICT;
CREATE INDEX otp_prefix_pauses_until ON otp_prefix_pauses (paused_until);
