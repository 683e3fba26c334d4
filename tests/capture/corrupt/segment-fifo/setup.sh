# the segment is a FIFO: a reader that opens it blocking hangs forever
rm "$1/seg/000001.zst" && mkfifo "$1/seg/000001.zst"
