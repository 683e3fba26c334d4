# a frames row deleted and the segments row edited to match: only the capture totals betray it
sqlite3 "$1/index.sqlite" "UPDATE segments SET frames = frames - 1, events = events - (SELECT events FROM frames ORDER BY offset DESC LIMIT 1), bytes = (SELECT offset FROM frames ORDER BY offset DESC LIMIT 1); DELETE FROM frames WHERE offset = (SELECT max(offset) FROM frames)"
