# an index left in WAL mode (copied from a running or crashed recorder): readers must not
# create -shm or -wal files beside the evidence
sqlite3 "$1/index.sqlite" "PRAGMA journal_mode=WAL" >/dev/null
