# a frame listed twice (the frames table rebuilt without its key, segment row adjusted):
# every event of it would replay twice
sqlite3 "$1/index.sqlite" "CREATE TABLE f2 AS SELECT * FROM frames; INSERT INTO f2 SELECT * FROM frames WHERE offset = (SELECT min(offset) FROM frames); DROP TABLE frames; ALTER TABLE f2 RENAME TO frames; UPDATE segments SET frames = frames + 1, events = events + (SELECT events FROM frames ORDER BY offset LIMIT 1)"
