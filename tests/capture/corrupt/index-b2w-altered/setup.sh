# boot_to_wall_ns shifted by an hour in the index only
sqlite3 "$1/index.sqlite" "UPDATE capture_info SET value = value + 3600000000000 WHERE key = 'boot_to_wall_ns'"
