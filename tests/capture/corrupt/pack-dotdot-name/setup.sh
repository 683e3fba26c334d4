# a member renamed to climb out of the capture (../../x): refused, nothing written outside
"$BIN/dnsreel-pack" "$1" -o "$1.tar" && rm -rf "$1" && mv "$1.tar" "$1"
python3 "$HERE/pack.py" "$1" rename index.sqlite ../../escaped
