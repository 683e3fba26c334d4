# the segments say format 2.0, the index still says 1.0
python3 "$HERE/meta.py" "$1/seg/000001.zst" major=2
