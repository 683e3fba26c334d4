# index.sqlite is a FIFO
rm "$1/index.sqlite" && mkfifo "$1/index.sqlite"
