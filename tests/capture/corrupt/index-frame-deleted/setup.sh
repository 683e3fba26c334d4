# one frames row deleted: its events would vanish from every reader
sqlite3 "$1/index.sqlite" "DELETE FROM frames WHERE offset = (SELECT max(offset) FROM frames)"
