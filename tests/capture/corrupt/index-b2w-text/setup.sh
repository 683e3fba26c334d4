# boot_to_wall_ns stored as text (reads as 0: every time in 1970)
sqlite3 "$1/index.sqlite" "UPDATE capture_info SET value = 'soon' WHERE key = 'boot_to_wall_ns'"
