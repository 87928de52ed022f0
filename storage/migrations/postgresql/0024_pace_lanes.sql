-- PostgreSQL only (../0024_pace_lanes.sql is empty): the send budget every bot process shares
-- (flows/shared_pacing.py, storage/pace_lanes.py). One row per chat recently written to, and lane 0 for
-- the whole bot: the token bucket's state as GCRA's theoretical arrival time and Telegram's pause, both in
-- microseconds since the Unix epoch on the bots' injected clocks (wall time: monotonic clocks differ
-- between processes). A chat's lane is a keyed hash of its id (storage/pace_lanes.py), so the table names
-- nobody. UNLOGGED: no WAL for 25 updates a second; a crash of the server empties it, which costs at worst
-- one 429 per chat, and replicas do not need it.
CREATE UNLOGGED TABLE pace_lanes (
    lane          BIGINT PRIMARY KEY,
    tat           BIGINT NOT NULL DEFAULT 0,
    paused_until  BIGINT NOT NULL DEFAULT 0
);

-- One round trip per message: lock the chat's lane then the bot's (always in that order, so two spends
-- never deadlock; each is created on first use), and take a token of both buckets, or of neither. Returns
-- wait_us 0 when taken, else the microseconds to wait (a pause, or the bucket that is empty), with the
-- chat's bucket state and both pauses as they now are, for the caller's own view of the lanes.
CREATE FUNCTION pace_spend(
    p_lane BIGINT, p_now BIGINT, p_emission BIGINT, p_burst INTEGER, p_bot_emission BIGINT, p_bot_burst INTEGER,
    OUT wait_us BIGINT, OUT lane_tat BIGINT, OUT lane_paused BIGINT, OUT bot_paused BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    bot_tat BIGINT;
    new_tat BIGINT;
    new_bot_tat BIGINT;
BEGIN
    LOOP
        SELECT tat, paused_until INTO lane_tat, lane_paused FROM pace_lanes WHERE lane = p_lane FOR UPDATE;
        EXIT WHEN FOUND;
        INSERT INTO pace_lanes (lane) VALUES (p_lane) ON CONFLICT DO NOTHING;
    END LOOP;
    LOOP
        SELECT tat, paused_until INTO bot_tat, bot_paused FROM pace_lanes WHERE lane = 0 FOR UPDATE;
        EXIT WHEN FOUND;
        INSERT INTO pace_lanes (lane) VALUES (0) ON CONFLICT DO NOTHING;
    END LOOP;
    wait_us := GREATEST(lane_paused, bot_paused) - p_now;
    IF wait_us > 0 THEN
        RETURN;
    END IF;
    -- GCRA, as pyrate-limiter's TokenBucket steps it: a token is there while the arrival time pushed one
    -- emission on stays within `burst` emissions of now.
    new_tat := GREATEST(lane_tat, p_now) + p_emission;
    new_bot_tat := GREATEST(bot_tat, p_now) + p_bot_emission;
    wait_us := GREATEST(new_tat - p_burst * p_emission, new_bot_tat - p_bot_burst * p_bot_emission) - p_now;
    IF wait_us > 0 THEN
        RETURN;
    END IF;
    wait_us := 0;
    lane_tat := new_tat;
    UPDATE pace_lanes SET tat = new_tat WHERE lane = p_lane;
    UPDATE pace_lanes SET tat = new_bot_tat WHERE lane = 0;
END
$$;
