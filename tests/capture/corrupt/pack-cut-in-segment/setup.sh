# a pack cut 5000 bytes into its only segment: the frames before the cut are read, the index (after it) is lost
"$BIN/dnsreel-pack" "$1" -o "$1.tar" && rm -rf "$1" && mv "$1.tar" "$1"
python3 "$HERE/pack.py" "$1" cut-member seg/000001.zst 5000
